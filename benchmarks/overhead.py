"""Measure 1: framework overhead per step, with a model that answers instantly.

Both systems get the same 10-step task: nine trivial cells, then ``final_answer``. The replies
carry the same code, each in the format its system's prompt asks for. What is left of a run's
wall time once model time is taken out is what the framework costs per step: building the
prompt, parsing, deciding, running the cell through its executor, recording and displaying.

- Ours: ``%agent --approve auto`` in a real kernel (jupyter_client), model calls through
  litellm's HTTP client to the loopback server. Wall time is the ``%agent`` cell as the
  client sees it (execute request to reply); model time is the sum of the steps'
  ``model_seconds`` (litellm's call, HTTP and streaming included: shown separately).
  Two frontends: widgets only (JupyterLab without the extension, VS Code), and the notebook
  protocol answered by :class:`~jupyter_agents.notebook.frontend.NotebookFrontend` (what the
  JupyterLab extension does; browser costs are in measure 5).
- smolagents: ``CodeAgent.run`` with its default ``LocalPythonExecutor``, the model a
  ``Model`` subclass returning the scripted reply instantly; with its default logging (rich
  panels, rendered into a buffer as for a terminal) and with logging off.
"""

from __future__ import annotations

import time
from typing import Any

from nbformat.v4 import new_code_cell, new_notebook

from jupyter_agents.notebook.frontend import NotebookFrontend

from . import stats
from .kernels import agent_line, last_run, ours_reply
from .report import NOT_COMPARED, Measure, Table, ms, ratio_text

TASK = "Compute the step values and return the last one."
AGENT_CELL = "bench-agent-cell"


def cells(steps: int) -> list[tuple[str, str]]:
    """(thought, code) for each step: trivial cells, the last one ends the run."""
    plan = [
        (f"Step {n}: compute the next value.", f"value_{n} = {n} * 2\nprint(value_{n})")
        for n in range(1, steps)
    ]
    plan.append(("All values are computed.", f"final_answer(value_{steps - 1})"))
    return plan


def run(ctx: Any) -> Measure:
    config = ctx.config
    plan = cells(config.overhead_steps)
    systems = {"ours, widgets": _ours_widgets, "ours, notebook protocol": _ours_notebook}
    if ctx.smolagents:
        systems["smolagents, default logging"] = lambda c, p: _smolagents(p, verbose=True)
        systems["smolagents, logging off"] = lambda c, p: _smolagents(p, verbose=False)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
    for repetition in range(config.repeats + 1):  # the first round warms up, not counted
        for name, measure in systems.items():  # interleaved: drift hits every system alike
            sample = measure(ctx, plan)
            if repetition:
                samples[name].append(sample)
        ctx.log(f"overhead: round {repetition}/{config.repeats}")
    return _report(samples, config, bool(ctx.smolagents))


def _ours_widgets(ctx: Any, plan: list[tuple[str, str]]) -> dict[str, float]:
    kernel = ctx.agent_kernel()
    ctx.server.script(*(ours_reply(thought, code) for thought, code in plan))
    return _ours_sample(kernel, kernel.start(agent_line(TASK, len(plan))), len(plan))


def _ours_notebook(ctx: Any, plan: list[tuple[str, str]]) -> dict[str, float]:
    kernel = ctx.agent_kernel()
    document = new_notebook()
    document.cells = [new_code_cell(agent_line(TASK, len(plan)), id=AGENT_CELL)]
    frontend = kernel.notebook = NotebookFrontend(document, client="benchmark")
    try:
        ctx.server.script(*(ours_reply(thought, code) for thought, code in plan))
        cell = kernel.start(agent_line(TASK, len(plan)), cell_id=AGENT_CELL)
        sample = _ours_sample(kernel, cell, len(plan))
    finally:
        kernel.notebook = None
    inserted = [c for c in document.cells if "step" in c.metadata.get("jupyter_agents", {})]
    if len(inserted) != len(plan):
        raise RuntimeError(f"expected {len(plan)} agent cells in the notebook, got {len(inserted)}")
    return {**sample, **round_trips(frontend.requests, {c.id for c in inserted})}


def round_trips(requests: list[tuple[str, str | None]], step_cells: set[str]) -> dict[str, float]:
    """The frontend's requests in one run: those naming a step's cell (per step), the rest
    (the run's own: reading the notebook, marking the prompt cell, the final record)."""
    of_steps = sum(1 for _op, cell_id in requests if cell_id in step_cells)
    return {
        "round_trips_per_step": of_steps / len(step_cells),
        "round_trips_per_run": len(requests) - of_steps,
    }


def _ours_sample(kernel: Any, cell: Any, steps: int) -> dict[str, float]:
    started = time.perf_counter()
    kernel.wait_done(cell, timeout=120)
    wall = time.perf_counter() - started
    if cell.status != "ok":
        raise RuntimeError(f"the %agent cell failed: {cell.error_text[-2000:]}")
    result = last_run(kernel)
    if result["status"] != "completed" or len(result["steps"]) != steps:
        raise RuntimeError(f"unexpected run: {result['status']}, {len(result['steps'])} steps")
    model = sum(step["model_seconds"] for step in result["steps"])
    execution = sum(step["execution_seconds"] for step in result["steps"])
    return {
        "wall": wall,
        "run_duration": result["duration"],
        "model": model,
        "execution": execution,
        "steps": steps,
    }


def _smolagents(plan: list[tuple[str, str]], verbose: bool) -> dict[str, float]:
    from .smol import ScriptedModel, TimedExecutor, code_agent, smol_reply

    model = ScriptedModel(smol_reply(thought, code) for thought, code in plan)
    agent = code_agent(model, max_steps=len(plan), verbose=verbose)
    agent.python_executor = executor = TimedExecutor(agent.python_executor)
    started = time.perf_counter()
    answer = agent.run(TASK)
    wall = time.perf_counter() - started
    steps = len([s for s in agent.memory.steps if type(s).__name__ == "ActionStep"])
    expected = (len(plan) - 1) * 2
    if steps != len(plan) or answer != expected:
        raise RuntimeError(f"unexpected smolagents run: {steps} steps, answer {answer!r}")
    return {"wall": wall, "model": model.seconds, "execution": executor.seconds, "steps": steps}


def _round_trips_text(runs: list[dict[str, float]]) -> str:
    counted = [r for r in runs if "round_trips_per_step" in r]
    if not counted:
        return ""
    step = stats.median([r["round_trips_per_step"] for r in counted])
    run = stats.median([r["round_trips_per_run"] for r in counted])
    return f"{step:g} (+ {run:g})"


def per_step(samples: list[dict[str, float]], key: str) -> float | None:
    """Median over repetitions of (wall - model) / steps, or of ``key`` / steps."""
    values = []
    for sample in samples:
        amount = sample["wall"] - sample["model"] if key == "overhead" else sample[key]
        values.append(amount / sample["steps"])
    return stats.median(values)


def _report(samples: dict[str, list[dict[str, float]]], config: Any, compared: bool) -> Measure:
    baseline = per_step(samples.get("smolagents, default logging", []), "overhead")
    rows = []
    data: dict[str, Any] = {}
    for name, runs in samples.items():
        overhead = per_step(runs, "overhead")
        execution = per_step(runs, "execution")
        model = per_step(runs, "model")
        data[name] = {
            "overhead_per_step": overhead,
            "execution_per_step": execution,
            "model_per_step": model,
            "runs": runs,
        }
        rows.append(
            [
                name,
                ms(overhead),
                ms(execution),
                ms(None if overhead is None or execution is None else overhead - execution),
                ms(model, 2),
                ratio_text(stats.ratio(overhead, baseline)) if name.startswith("ours") else "",
                _round_trips_text(runs),
            ]
        )
    widgets = per_step(samples["ours, widgets"], "overhead")
    data["ratio_ours_widgets"] = stats.ratio(widgets, baseline)
    notebook = samples.get("ours, notebook protocol", [])
    data["ratio_notebook_to_widgets"] = stats.ratio(per_step(notebook, "overhead"), widgets)
    data["round_trips_per_step"] = stats.median([r["round_trips_per_step"] for r in notebook])
    table = Table(
        [
            "system",
            "wall − model, per step",
            "of which running the cell",
            "rest of the framework",
            "model time per step (instant model)",
            "ours ÷ smolagents (default logging)",
            "frontend round trips: per step (+ per run)",
        ],
        rows,
        caption=f"A {config.overhead_steps}-step task, median of {config.repeats} runs each "
        "(after one warm-up run).",
    )
    notes = [
        "Ours: wall time of the `%agent` cell seen by the client (execute request to reply), so "
        "per-run costs (frontend handshake, view, settings) are spread over the steps. Model time "
        "is litellm's call to the loopback server (request, HTTP, streaming) and is left out; it "
        "is shown in its own column because with a real model it is dwarfed by generation time.",
        "smolagents: `CodeAgent.run`; its model is in-process and instant, so its model time is "
        "about zero.",
        '"Running the cell": ours is `execution_seconds` (IPython\'s `run_cell_async` with output '
        "capture); smolagents' is the time inside `LocalPythonExecutor.__call__`.",
    ]
    if data["ratio_notebook_to_widgets"] is not None:
        notes.append(
            "Notebook protocol ÷ widgets, per step: "
            f"{data['ratio_notebook_to_widgets']:.2f}. Round trips are the notebook protocol's "
            "requests counted by the benchmark's frontend: those naming a step's cell, per step, "
            "and the run's own (reading the notebook, marking the prompt cell, the final record)."
        )
    if not compared:
        notes.append(NOT_COMPARED)
    return Measure("overhead", "Framework overhead per step", [table], notes, data)
