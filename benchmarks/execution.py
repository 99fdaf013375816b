"""Measure 2: how fast the generated code itself runs.

The same cells run in both systems: ours runs them natively in the kernel, through the real
executor (each cell is one step of an ``%agent --approve auto`` run, timed by the step's
``execution_seconds``: IPython's ``run_cell_async`` plus output capture); smolagents runs them
in its ``LocalPythonExecutor`` (an AST interpreter), one executor per session as a CodeAgent
does, timed around its call. Each cell prints a result; both systems must print the same, or
the measure fails.

smolagents' interpreter limits the cells: pandas and numpy must be authorized (``numpy.*``
for ``numpy.random``) and it does not implement the ``@`` operator, so the matrix cell uses
``.dot``. A warm-up round at tiny sizes pays the imports and first calls before timing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from . import stats
from .config import PRESETS, Config
from .kernels import agent_line, last_run, ours_reply
from .report import NOT_COMPARED, Measure, Table, ms, ratio_text


@dataclass(frozen=True)
class Cell:
    key: str
    what: str
    code: str


def cells(config: Config) -> list[Cell]:
    n = config
    return [
        Cell(
            "loop",
            f"pure-Python loop, {n.loop_iterations:,} iterations",
            f"""\
total = 0
for i in range({n.loop_iterations}):
    total += i * i % 7
print(total)""",
        ),
        Cell(
            "functions",
            f"function calls: longest Collatz walk below {n.collatz_limit:,}",
            f"""\
def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps

longest = max(range(1, {n.collatz_limit}), key=collatz_steps)
print(longest, collatz_steps(longest))""",
        ),
        Cell(
            "strings",
            f"string handling: build, split, count {n.string_items:,} words",
            f"""\
words = ["alpha", "beta", "gamma", "delta", "epsilon"]
text = " ".join(words[i % 5] + str(i % 97) for i in range({n.string_items}))
counts = {{}}
for word in text.split():
    key = word.upper()[:3] + word[-1]
    counts[key] = counts.get(key, 0) + 1
report = ", ".join(f"{{k}}={{v}}" for k, v in sorted(counts.items())[:5])
print(len(text), len(counts), report.replace("=", ": "))""",
        ),
        Cell(
            "pandas",
            f"pandas: build and group {n.data_rows:,} rows",
            f"""\
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
sales = pd.DataFrame({{
    "region": rng.choice(["north", "south", "east", "west"], {n.data_rows}),
    "revenue": rng.random({n.data_rows}) * 100,
    "units": rng.integers(1, 10, {n.data_rows}),
}})
summary = sales.groupby("region").agg(revenue=("revenue", "sum"), units=("units", "mean"))
print(summary.round(2))""",
        ),
        Cell(
            "pandas_apply",
            f"pandas: a Python lambda over {n.apply_rows:,} rows",
            f"""\
import numpy as np
import pandas as pd
rng = np.random.default_rng(1)
prices = pd.Series(rng.random({n.apply_rows}) * 100)
labels = prices.apply(lambda price: "high" if price > 50 else "low")
print(labels.value_counts().to_dict())""",
        ),
        Cell(
            "numpy",
            f"numpy: {n.matrix_size}×{n.matrix_size} matrix product and norm",
            f"""\
import numpy as np
rng = np.random.default_rng(2)
matrix = rng.random(({n.matrix_size}, {n.matrix_size}))
product = matrix.dot(matrix.T)
print(round(float(np.linalg.norm(product)), 3), round(float(np.trace(product)), 3))""",
        ),
    ]


def run(ctx: Any) -> Measure:
    config = ctx.config
    timed = cells(config)
    warm_up = cells(replace(config, **_sizes(PRESETS["tiny"])))
    ours: dict[str, list[float]] = {cell.key: [] for cell in timed}
    theirs: dict[str, list[float]] = {cell.key: [] for cell in timed}
    printed: dict[str, dict[str, str]] = {}
    for repetition in range(config.execution_repeats + 1):
        plan = warm_up if repetition == 0 else timed
        our_times, our_output = _ours(ctx, plan)
        their_times, their_output = _smolagents(plan) if ctx.smolagents else ({}, {})
        for cell in plan:
            if cell.key in their_output and their_output[cell.key] not in our_output[cell.key]:
                raise RuntimeError(
                    f"cell {cell.key!r} printed different results:\nours: "
                    f"{our_output[cell.key]!r}\nsmolagents: {their_output[cell.key]!r}"
                )
            if repetition:
                ours[cell.key].append(our_times[cell.key])
                if cell.key in their_times:
                    theirs[cell.key].append(their_times[cell.key])
                printed[cell.key] = {
                    "ours": our_output[cell.key],
                    "smolagents": their_output.get(cell.key),
                }
        ctx.log(f"execution: round {repetition}/{config.execution_repeats}")
    return _report(timed, ours, theirs, printed, config, bool(ctx.smolagents))


def _sizes(config: Config) -> dict[str, int]:
    keys = (
        "loop_iterations",
        "collatz_limit",
        "string_items",
        "data_rows",
        "apply_rows",
        "matrix_size",
    )
    return {key: getattr(config, key) for key in keys}


def _ours(ctx: Any, plan: list[Cell]) -> tuple[dict[str, float], dict[str, str]]:
    """One ``%agent`` run whose steps are the cells, then ``final_answer``."""
    kernel = ctx.agent_kernel()
    replies = [ours_reply(f"Run the {cell.key} cell.", cell.code) for cell in plan]
    replies.append(ours_reply("Done.", "final_answer('done')"))
    ctx.server.script(*replies)
    line = agent_line("Run the benchmark cells one by one.", len(replies))
    cell_run = kernel.execute(line, timeout=600)
    result = last_run(kernel)
    if cell_run.status != "ok" or result["status"] != "completed":
        raise RuntimeError(f"the %agent run failed: {result['status']} {result['error']}")
    times, output = {}, {}
    for cell, step in zip(plan, result["steps"][: len(plan)], strict=True):
        if step["error"]:
            raise RuntimeError(f"cell {cell.key!r} raised {step['error']} in the kernel")
        times[cell.key] = step["execution_seconds"]
        output[cell.key] = step["observation"] or ""
    return times, output


def _smolagents(plan: list[Cell]) -> tuple[dict[str, float], dict[str, str]]:
    import time

    from .smol import executor

    python = executor()
    times, output = {}, {}
    for cell in plan:
        started = time.perf_counter()
        result = python(cell.code)
        times[cell.key] = time.perf_counter() - started
        output[cell.key] = result.logs.strip()
    return times, output


def _report(
    timed: list[Cell],
    ours: dict[str, list[float]],
    theirs: dict[str, list[float]],
    printed: dict[str, dict[str, str]],
    config: Config,
    compared: bool,
) -> Measure:
    rows, data = [], {}
    for cell in timed:
        mine, other = stats.median(ours[cell.key]), stats.median(theirs[cell.key])
        value = stats.ratio(mine, other)
        rows.append([cell.what, ms(mine), ms(other), ratio_text(value)])
        data[cell.key] = {
            "what": cell.what,
            "code": cell.code,
            "ours": stats.summary(ours[cell.key]),
            "smolagents": stats.summary(theirs[cell.key]),
            "ratio": value,
            "printed": printed.get(cell.key),
        }
    table = Table(
        [
            "cell",
            "ours (native, in the kernel)",
            "smolagents (LocalPythonExecutor)",
            "ours ÷ smolagents",
        ],
        rows,
        caption=f"Median of {config.execution_repeats} runs per cell.",
    )
    notes = [
        "Ours: a step's `execution_seconds`, i.e. IPython's `run_cell_async` of the cell in the "
        "user namespace with output capture; the model call and the rest of the step are "
        "excluded. smolagents: `LocalPythonExecutor.__call__` (parsing, interpreting, its "
        "default 30 s timeout guard). Both printed the same results (checked).",
        "smolagents' interpreter needed `.dot` for the matrix product (it does not implement "
        "`@`) and `numpy.*` among its authorized imports.",
    ]
    if not compared:
        notes.append(NOT_COMPARED)
    return Measure("execution", "Executing generated code", [table], notes, data)
