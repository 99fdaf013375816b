"""Secrets an agent cell leaks in forms a name- and shape-based redactor misses stay out of
the saved notebook and its HTML trace: ``jupyter agents run`` and ``export --html`` as a user
runs them, with a real kernel and the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import python_notebook
from tests.support.replies import code
from tests.test_cli import cli, env  # noqa: F401  (env is a fixture)

pytestmark = pytest.mark.kernel

URL_PASSWORD = "Pg7-Vault-x93Q"
LONG_TOKEN = "svc-7f3a9b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081920a1b2c3d"
SHORT_PASSWORD = "hunt3r7"
WAREHOUSE = "wh-9Kq2-Zm71-Lp08-Xr55"
SECRETS = {
    "DATABASE_URL": f"postgres://app:{URL_PASSWORD}@db.internal:5432/sales",
    "SERVICE_TOKEN": LONG_TOKEN,
    "DB_PASSWORD": SHORT_PASSWORD,
    "WAREHOUSE_PASSWORD": WAREHOUSE,
}
KEY = "sk-proj-" + "FAKE" * 5 + "1234"
#: Set in a user's cell, not taken from the environment.
KERNEL_TOKEN = "kt-51Hw-Qe88-Rn20-Vb64"
LEAKED = [
    URL_PASSWORD, LONG_TOKEN[:47], LONG_TOKEN[-20:], SHORT_PASSWORD, WAREHOUSE, KEY,
    KERNEL_TOKEN[:14],
]  # fmt: skip

LEAKING_CELLS = [
    # 1. a URL's password, from a variable whose name does not look secret
    "import os\nprint('connecting to', os.environ['DATABASE_URL'])",
    # 2. a long token cut by pandas' repr (its first 47 characters and '...')
    "import pandas as pd\npd.DataFrame({'token': [os.environ['SERVICE_TOKEN']]})",
    # 3. a key written in two pieces, joined by the notebook; and a short password
    "import sys\nkey = 'sk-proj-' + 'FAKE' * 5 + '1234'\n"
    "sys.stdout.write(key[:10]); sys.stdout.write(key[10:] + '\\n')\n"
    "print('pw', os.environ['DB_PASSWORD'])",
    # 4. SVG, JavaScript, a custom type, JSON keys and display metadata
    "from IPython.display import display\nw = os.environ['WAREHOUSE_PASSWORD']\n"
    "display({'image/svg+xml': f'<svg><text>{w}</text></svg>',"
    " 'application/javascript': f'var w = \"{w}\";', 'application/x-custom': w,"
    " 'application/json': {w: 1}, 'text/plain': 'shown'}, raw=True, metadata={'title': w})",
    # 5. widget state
    "import ipywidgets\ndisplay(ipywidgets.Label(value=os.environ['WAREHOUSE_PASSWORD']))\n"
    "display(ipywidgets.Text(value=os.environ['SERVICE_TOKEN']))",
    # 6. a thread that prints after the cell has ended: a secret, then a flood
    "import threading\n"
    "def late():\n"
    "    print('late', os.environ['WAREHOUSE_PASSWORD'], flush=True)\n"
    "    print('y' * 300_000, flush=True)\n"
    "threading.Timer(1.0, late).start()",
    # 7. a secret-named variable of the user's own, its start printed
    "print('using', report_token[:14])",
]


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    nb = python_notebook(
        [
            new_code_cell("%load_ext jupyter_agents\n%agent_config max_output_bytes=20000"),
            # 7. names bound from the environment: the kernel summary (and the transcript)
            # must not show their values
            new_code_cell(
                "import os\npw = os.environ['DB_PASSWORD']\ndsn = os.getenv('DATABASE_URL')\n"
                # built from two pieces, so this cell's own source does not hold it
                f"report_token = {KERNEL_TOKEN[:7]!r} + {KERNEL_TOKEN[7:]!r}"
            ),
            new_code_cell("%agent Connect to the database", id="prompt"),
            new_code_cell("import time\ntime.sleep(3)\nprint('mine')", id="mine"),
        ]
    )
    nbformat.write(nb, tmp_path / "leaky.ipynb")
    return tmp_path


def test_secret_leak_forms_stay_out_of_the_saved_notebook_and_the_html_trace(
    leaky: Path,
    env: dict[str, str],  # noqa: F811
    script: ScriptedLLMServer,
):
    env = {**env, **SECRETS}
    script.script(*[code(cell, "Look.") for cell in LEAKING_CELLS], code("final_answer(1)", "."))
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    ran = cli("run", "leaky.ipynb", *args, env=env, cwd=leaky)
    assert ran.returncode == 0, ran.stderr
    trace = cli("export", "ran.ipynb", "--html", "-o", "trace.html", env=env, cwd=leaky)
    assert trace.returncode == 0, trace.stderr

    saved = (leaky / "ran.ipynb").read_text()
    page = (leaky / "trace.html").read_text()
    leaks = [
        f"{secret!r} in {where}: ...{text[max(at - 200, 0) : at + 60]}..."
        for where, text in (("ran.ipynb", saved), ("trace.html", page))
        for secret in LEAKED
        if (at := text.find(secret)) >= 0
    ]
    assert not leaks, "\n".join(leaks)

    nb = nbformat.read(leaky / "ran.ipynb", as_version=4)
    steps = [c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]
    assert len(steps) == len(LEAKING_CELLS) + 1, [c.source for c in nb.cells]
    outputs = [json.dumps(step.outputs) for step in steps]
    assert "postgres://app:[redacted]@db.internal" in outputs[0]
    assert "[redacted]" in outputs[1] and "[redacted]" in outputs[2]
    assert '"[redacted]": 1' in outputs[3] and "<text>[redacted]</text>" in outputs[3]
    assert "using [redacted]" in outputs[6]
    assert "widgets" in nb.metadata, "the widgets' state was not saved: nothing was checked"
    assert "[redacted]" in json.dumps(nb.metadata["widgets"])
    mine = json.dumps(next(c for c in nb.cells if c.id == "mine").outputs)
    assert "late [redacted]" in mine and "max_output_bytes" in mine and len(mine) < 30_000
    transcript = json.dumps(nb.metadata["jupyter_agents"]["runs"][0]["transcript"])
    assert "pw: str (value hidden" in transcript and "dsn: str (value hidden" in transcript
