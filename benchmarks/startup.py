"""Measure 4: start-up. How long until the agent is ready, and until its first words show.

- ``%load_ext jupyter_agents`` in a fresh kernel, timed inside the kernel (after one empty
  cell, so the kernel's own first-cell costs are not counted). smolagents' counterpart is
  ``from smolagents import CodeAgent, LiteLLMModel`` in a fresh Python process.
- Time to the first streamed text on screen, with an instant model, on the first run in a
  fresh kernel (cold: litellm is imported on the first call) and on the second (warm). Ours:
  from sending the ``%agent --approve auto`` execute request to the moment the client receives
  the first widget update carrying the reply's text, as a frontend would display it.
  smolagents (in a fresh process, its ``LiteLLMModel`` to the same loopback server, as ours
  goes through litellm): from building the agent and calling ``run(stream=True)`` to the
  moment its console writes the reply's first text to the terminal.
- The same first run in a fresh kernel where ``%load_ext`` ran ``startup_pause`` seconds
  (5 by default) before ``%agent``, as when a person types the line: ``%load_ext`` imports
  litellm in the background, so this run should cost about what the warm one does.
- The first run in a fresh kernel whose client renders no widgets (plain nbclient,
  papermill): execute request → the reply's first text in the cell's plain output. Under
  ``--approve auto`` such a run must not wait ``frontend_timeout`` for a widget answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from . import stats
from .kernels import REPO, agent_line, check, ours_reply, start_kernel
from .report import NOT_COMPARED, Measure, Table, ms, ratio_text
from .smol_first_token import MARKER

LOAD_EXT = """\
import time as _bench_time
_bench_started = _bench_time.perf_counter()
get_ipython().run_line_magic("load_ext", "jupyter_agents")
print(_bench_time.perf_counter() - _bench_started)
"""
CONFIGURE = "%agent_config model=openai/scripted model_retries=0"
REPLY_THOUGHT = f"{MARKER}: the value is known, so I return it."


def run(ctx: Any) -> Measure:
    samples: dict[str, list[float]] = {
        key: []
        for key in (
            "load",
            "first_token",
            "first_token_warm",
            "first_token_preloaded",
            "first_token_no_frontend",
            "smol_import",
            "smol_first_token",
            "smol_first_token_warm",
        )
    }
    for repetition in range(ctx.config.startup_repeats):
        for key, value in _ours(ctx, repetition).items():
            samples[key].append(value)
        if ctx.smolagents:
            for key, value in _smolagents(ctx).items():
                samples[f"smol_{key}"].append(value)
        ctx.log(f"startup: {repetition + 1}/{ctx.config.startup_repeats}")
    return _report(samples, ctx.config, bool(ctx.smolagents))


def _ours(ctx: Any, repetition: int) -> dict[str, float]:
    kernel = start_kernel(ctx.server, ctx.directory(f"startup-{repetition}"))
    try:
        check(kernel.execute("pass"), "an empty first cell")
        load = float(check(kernel.execute(LOAD_EXT), "%load_ext").stdout.strip())
        check(kernel.execute(CONFIGURE), "%agent_config")
        measured = {
            "load": load,
            "first_token": _first_token(ctx, kernel),
            "first_token_warm": _first_token(ctx, kernel),
        }
    finally:
        kernel.shutdown()
    return {
        **measured,
        "first_token_preloaded": _preloaded_first_token(ctx, repetition),
        "first_token_no_frontend": _plain_first_token(ctx, repetition),
    }


def _preloaded_first_token(ctx: Any, repetition: int) -> float:
    kernel = start_kernel(ctx.server, ctx.directory(f"startup-preloaded-{repetition}"))
    try:
        check(kernel.execute("pass"), "an empty first cell")
        check(kernel.execute(f"%load_ext jupyter_agents\n{CONFIGURE}"), "%load_ext")
        time.sleep(ctx.config.startup_pause)
        return _first_token(ctx, kernel)
    finally:
        kernel.shutdown()


def _plain_first_token(ctx: Any, repetition: int) -> float:
    """A client that renders no widgets: the reply's first text in the cell's own output."""
    home = ctx.directory(f"startup-plain-{repetition}")
    kernel = start_kernel(ctx.server, home, widget_frontend=False)
    try:
        check(kernel.execute(f"%load_ext jupyter_agents\n{CONFIGURE}"), "%load_ext")
        time.sleep(ctx.config.startup_pause)  # the import is not what this one measures
        ctx.server.reset()
        ctx.server.script(ours_reply(REPLY_THOUGHT, "final_answer('ready')"))
        started = time.perf_counter()
        cell = kernel.start(agent_line("Return 1.", 1))
        kernel.wait_for(lambda: MARKER in cell.stdout, 120, "the reply's first text", run=cell)
        elapsed = time.perf_counter() - started
        check(kernel.wait_done(cell, timeout=120), "the plain first-token run")
        return elapsed
    finally:
        kernel.shutdown()


def _first_token(ctx: Any, kernel: Any) -> float:
    ctx.server.reset()
    ctx.server.script(ours_reply(REPLY_THOUGHT, "final_answer('ready')"))
    seen = len(kernel.widgets)  # only widgets of this run count
    started = time.perf_counter()
    cell = kernel.start(agent_line("Return 1.", 1))

    def shown() -> bool:
        widgets = list(kernel.widgets.values())[seen:]
        return any(
            MARKER in str(widget.state.get("value", ""))
            for widget in widgets
            if widget.model_name == "HTMLModel"
        )

    kernel.wait_for(shown, timeout=120, what="the reply's first text in a widget", run=cell)
    elapsed = time.perf_counter() - started
    check(kernel.wait_done(cell, timeout=120), "the first-token run")
    return elapsed


def _smolagents(ctx: Any) -> dict[str, float]:
    from .smol import smol_reply

    ctx.server.reset()
    ctx.server.script(*[smol_reply(REPLY_THOUGHT, "final_answer('ready')")] * 2)
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks.smol_first_token", ctx.server.base_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if process.returncode != 0:
        raise RuntimeError(f"smolagents' start-up script failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def _report(samples: dict[str, list[float]], config: Any, compared: bool) -> Measure:
    def median(key: str) -> float | None:
        return stats.median(samples[key])

    rows = []
    for label, ours_key, their_key, their_label in (
        ("ready to use", "load", "smol_import", "`from smolagents import CodeAgent, LiteLLMModel`"),
        (
            "first streamed text out to the display, first run (cold)",
            "first_token",
            "smol_first_token",
            "",
        ),
        (
            "first streamed text out to the display, second run (warm)",
            "first_token_warm",
            "smol_first_token_warm",
            "",
        ),
        (
            "first streamed text, first run, %load_ext 5 s before (preloaded)",
            "first_token_preloaded",
            "smol_first_token",
            "",
        ),
        (
            "first text, first run, a client without widgets (auto)",
            "first_token_no_frontend",
            "smol_first_token_warm",
            "",
        ),
    ):
        mine, other = median(ours_key), median(their_key)
        what = "`%load_ext jupyter_agents`" if ours_key == "load" else ""
        rows.append(
            [
                label + (f": {what} vs {their_label}" if what else ""),
                ms(mine),
                ms(other),
                ratio_text(stats.ratio(mine, other)),
            ]
        )
    table = Table(
        ["", "ours", "smolagents", "ours ÷ smolagents"],
        rows,
        caption=f"Median of {config.startup_repeats} fresh kernels (ours) and fresh processes "
        "(smolagents).",
    )
    notes = [
        "Cold runs include importing litellm, which dominates them: smolagents imports it at "
        "its first model call; ours starts importing it in the background at `%load_ext`, and "
        "a run right after `%load_ext` waits for that import to end.",
        "Ours: execute request sent → first widget update carrying the reply's text received by "
        "the client (jupyter_client). It includes parsing the magic, the frontend handshake, "
        "opening the widget view and the model call through litellm (the widget shows the "
        "first streamed text at once, since 2026-12-04). It stops where a browser would "
        "start rendering: measure 5 times the same thing on screen in JupyterLab "
        "(run → first token visible).",
        "smolagents: agent built and `run(stream=True)` called → its rich console writes the "
        "first text to the terminal (rich's live display refreshes 4 times a second).",
    ]
    if not compared:
        notes.append(NOT_COMPARED)
    notes += [
        "Preloaded: `%load_ext` imports litellm in a background thread, so a first run that "
        "comes `startup_pause` seconds later finds it imported; compared with smolagents' cold "
        "first run, which has no such head start.",
        "Without widgets: compared with smolagents' warm run, since that kernel's litellm is "
        "preloaded too; what it shows is that an `--approve auto` run no longer waits "
        "`frontend_timeout` (3 s) for a widget answer that cannot come.",
    ]
    goals = Table(["goal", "result"], _goals(median, config))
    data = {key: stats.summary(values) for key, values in samples.items()}
    return Measure("startup", "Start-up", [table, goals], notes, data)


def _goals(median: Any, config: Any) -> list[list[str]]:
    load, warm, preloaded = (
        median("load"),
        median("first_token_warm"),
        median("first_token_preloaded"),
    )
    plain = median("first_token_no_frontend")
    return [
        ["`%load_ext` under 0.5 s", _met(load is not None and load < 0.5, ms(load))],
        [
            f"first run, `%load_ext` {config.startup_pause:g} s before: at most 1.5× the warm run",
            _met(
                None not in (preloaded, warm) and preloaded <= 1.5 * warm,
                f"{ms(preloaded)} vs {ms(warm)}",
            ),
        ],
        [
            "first text without widgets under `--approve auto`: no `frontend_timeout` wait (< 3 s)",
            _met(plain is not None and plain < 3.0, ms(plain)),
        ],
    ]


def _met(condition: bool, detail: str) -> str:
    return f"{'met' if condition else 'NOT met'} ({detail})"
