"""Regenerate the example notebooks in notebooks/ with the scripted test model.

    python -m tests.support.examples

No model is reachable from the machines this project is built on, so the recorded runs in
the examples come from the loopback server with fixed replies (the same one the tests use).
Each notebook says so in its first cell. The code the "model" writes here was written by
hand; what is real is everything around it: the kernel, litellm's HTTP path, the headless
runner (`jupyter agents run`), the recording, and `jupyter agents replay`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_agents.cli.entry_point import main as jupyter_agents
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MODEL = "openai/scripted-test-model"

SCRIPTED_NOTE = (
    "> **About this recording.** The agent run below was produced by the project's **scripted "
    "test model**: a local server that replays fixed replies (`tests/support/examples.py`), "
    "reached through litellm like any provider. It is not a real model's work; no model is "
    "reachable from the machines this project is built on. Everything else is real: the "
    "cells ran in a kernel, were recorded by `jupyter agents run`, and "
    "`jupyter agents replay` re-executes and checks them without any model.\n>\n"
    "> Run All in JupyterLab replays the recording (no model is called). To have your own "
    "model do the work, add `--rerun` to the agent cell, or run "
    "`jupyter agents run --rerun --approve auto --model <your model> <this notebook>`."
)

LOAD = "import pandas as pd\n\nsales = pd.read_csv('data/sales.csv')\nsales.head()"


def quickstart(server: ScriptedLLMServer) -> nbformat.NotebookNode:
    server.script(
        code(
            "sales['Date'] = pd.to_datetime(sales['Date'], format='%d/%m/%Y')",
            "The dates are day-first strings; I'll parse the Date column.",
        ),
        code(
            "sales['date'] = pd.to_datetime(sales['date'], format='%d/%m/%Y')\n"
            "print(sales['date'].min().date(), 'to', sales['date'].max().date())",
            "The column is lower-case `date`; parsing that one and checking the range.",
        ),
        code(
            "monthly = sales.set_index('date')['revenue'].resample('MS').sum().round(2)\n"
            "monthly.index = monthly.index.strftime('%Y-%m')\n"
            "monthly",
            "Now revenue per calendar month.",
        ),
        code(
            "ax = monthly.plot(kind='bar', title='Revenue per month', ylabel='revenue')\n"
            "ax.figure.tight_layout()",
            "A bar chart shows the months side by side.",
        ),
        code(
            "best = monthly.idxmax()\n"
            "final_answer(f'{best} had the highest revenue: {monthly[best]:,.2f}')",
            "The best month is clear from the table.",
        ),
    )
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Quickstart: one agent run\n\n" + SCRIPTED_NOTE),
        new_code_cell("%load_ext jupyter_agents\n%matplotlib inline"),
        new_code_cell(LOAD),
        new_code_cell("%agent Parse the dates in `sales`, then show and plot revenue per month"),
        new_markdown_cell("The agent's variables are yours afterwards:"),
        new_code_cell("monthly.describe()"),
    ]
    return nb


def crew(server: ScriptedLLMServer) -> nbformat.NotebookNode:
    server.script_for(
        "You are the Data engineer",
        code(
            "sales['date'] = pd.to_datetime(sales['date'], format='%d/%m/%Y')\n"
            "sales['month'] = sales['date'].dt.month\n"
            "missing = int(sales.isna().sum().sum())\n"
            "print(len(sales), 'rows,', missing, 'missing values; dates from',\n"
            "      sales['date'].min().date(), 'to', sales['date'].max().date())",
            "Parse the dates and check types and gaps.",
        ),
        code(
            'handoff("Analyst", "sales is clean: 240 rows, no missing values, `date` parsed '
            '(day-first), `month` added; revenue is in euros.")',
            "The data is ready for analysis.",
        ),
    )
    server.script_for(
        "You are the Analyst",
        code(
            "by_channel = sales.groupby('channel')['revenue'].mean().round(2)\n"
            "by_region = sales.groupby('region')['revenue'].mean().round(2)\n"
            "by_discount = sales.groupby('discount_pct')['revenue'].mean().round(2)\n"
            "print(by_channel.to_string(), by_region.to_string(), by_discount.to_string(), "
            "sep='\\n\\n')",
            "Compare mean revenue per sale across channel, region and discount.",
        ),
        code(
            "corr = sales[['units', 'unit_price', 'discount_pct', 'revenue']].corr()['revenue']\n"
            "corr.round(3)",
            "And how the numeric columns move with revenue.",
        ),
        code(
            'handoff("Writer", "Drivers of revenue per sale: (1) units sold, the strongest '
            "(see corr); (2) unit price; (3) channel: online sales average more than store "
            'sales; the north region is also above the others. Discounts matter less.")',
            "Pass the findings to the writer.",
        ),
    )
    server.script_for(
        "You are the Writer",
        code(
            "from IPython.display import Markdown, display\n"
            "volume, price = corr['units'], corr['unit_price']\n"
            "online, store = by_channel['online'], by_channel['store']\n"
            "display(Markdown(\n"
            "    '### What drives revenue\\n'\n"
            "    f'- **Volume**: units sold track revenue most closely (r = {volume:.2f}).\\n'\n"
            "    f'- **Price**: higher unit prices lift revenue (r = {price:.2f}).\\n'\n"
            "    f'- **Channel**: an online sale averages {online:,.0f} EUR, '\n"
            "    f'a store sale {store:,.0f} EUR.\\n'\n"
            "))",
            "A short summary for a manager.",
        ),
        code("final_answer('Volume, price and channel drive revenue.')", "Done."),
    )
    spec = (
        "%%crew\n"
        "task: Find what drives revenue in `sales` and write it up for a manager\n"
        "process: sequential\n"
        "agents:\n"
        "  - role: Data engineer\n"
        "    goal: Leave a clean DataFrame named sales with parsed dates\n"
        "    section: Data preparation\n"
        "  - role: Analyst\n"
        "    goal: Find the three strongest drivers of revenue, with evidence\n"
        "    section: Analysis\n"
        "  - role: Writer\n"
        "    goal: Summarize the findings for a manager, in markdown\n"
        "    section: Report\n"
    )
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# A crew: three roles, three sections\n\n" + SCRIPTED_NOTE),
        new_code_cell("%load_ext jupyter_agents"),
        new_code_cell(LOAD),
        new_code_cell(spec),
    ]
    return nb


def main() -> int:
    with ScriptedLLMServer() as server:
        os.environ.update(
            OPENAI_API_BASE=server.base_url,
            OPENAI_API_KEY="sk-scripted",
            LITELLM_LOCAL_MODEL_COST_MAP="True",
        )
        for name, build in (("quickstart", quickstart), ("crew", crew)):
            server.reset()
            nb = build(server)
            nb.metadata["kernelspec"] = {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            }
            path = NOTEBOOKS / f"{name}.ipynb"
            nbformat.write(nb, path)
            status = jupyter_agents(["run", str(path), "--model", MODEL, "--approve", "auto"])
            if status != 0:
                print(f"{path}: jupyter agents run exited {status}", file=sys.stderr)
                return status
            print(f"recorded {path} ({len(server.requests)} model calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
