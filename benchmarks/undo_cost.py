"""Measure 6: what keeping a run undoable costs a step.

Before each approved cell, undo keeps the objects the cell may rebind (references) and copies
the existing objects it may change in place. So a cell that only reads a large DataFrame
should pay nothing, and one that adds a column to it about one deep copy of the frame.

Each sample is the wall time of one ``%agent --approve auto`` run of two steps (the cell, then
``final_answer``) with an instant scripted model, once with undo on (``undo_depth=1``) and once
with it off (``undo_depth=0``), interleaved; the difference of the medians is what undo costs
the cell. For scale, the time of one ``DataFrame.copy(deep=True)`` of the frame, in the kernel,
kept alive as undo keeps it: a copy dropped at once is cheaper (its memory is reused at once),
and would understate what a kept copy costs.
smolagents keeps no undo, so this measure compares ours with itself in the same run.
"""

from __future__ import annotations

import time
from typing import Any

from . import stats
from .kernels import agent_line, check, ours_reply, printed_json
from .report import Measure, Table, ms

COLUMNS = 10
SETUP = """\
import numpy as _bench_np, pandas as _bench_pd
_bench_big = _bench_pd.DataFrame(
    _bench_np.random.default_rng(0).random(({rows}, {columns})),
    columns=[f"c{{i}}" for i in range({columns})],
)
print(_bench_big.memory_usage(deep=True).sum())
"""
COPY = """\
import json as _bench_json, time as _bench_time
_bench_times, _bench_kept = [], []
for _ in range({repeats}):
    _bench_started = _bench_time.perf_counter()
    _bench_kept.append(_bench_big.copy(deep=True))
    _bench_times.append(_bench_time.perf_counter() - _bench_started)
del _bench_kept
_bench_dropped = []
for _ in range({repeats}):
    _bench_started = _bench_time.perf_counter()
    _bench_big.copy(deep=True)
    _bench_dropped.append(_bench_time.perf_counter() - _bench_started)
print(_bench_json.dumps([_bench_times, _bench_dropped]))
"""
#: Shown by ``%agent_undo --dry-run`` when the run's copy of the frame was taken: the
#: measure checks it, so a change that stopped taking the copy cannot pass as a free one.
SNAPSHOT_TAKEN = "contents put back in place: _bench_big"
CELLS = {
    "reads the frame": "_bench_total = float(_bench_big['c0'].sum())",
    "adds a column": "_bench_big['added'] = _bench_big['c0'] * 2",
}
SETTINGS = {"undo on": "undo_depth=1", "undo off": "undo_depth=0"}


def run(ctx: Any) -> Measure:
    kernel = ctx.agent_kernel()
    rows = max(1, ctx.config.undo_frame_mb * 1_000_000 // (8 * COLUMNS))
    frame_bytes = int(
        check(
            kernel.execute(SETUP.format(rows=rows, columns=COLUMNS), timeout=300),
            "building the frame",
        ).stdout.strip()
    )
    repeats = ctx.config.undo_repeats
    copy_times, dropped_copy_times = printed_json(kernel, COPY.format(repeats=repeats), timeout=300)
    samples: dict[str, dict[str, list[float]]] = {
        cell: {setting: [] for setting in SETTINGS} for cell in CELLS
    }
    try:
        _timed_run(ctx, kernel, CELLS["reads the frame"])  # warm-up: the first run pays more
        for repetition in range(repeats):
            for cell, code in CELLS.items():
                for setting, assignment in SETTINGS.items():
                    check(kernel.execute(f"%agent_config {assignment}"), "%agent_config")
                    samples[cell][setting].append(_timed_run(ctx, kernel, code))
                    if cell == "adds a column" and setting == "undo on":
                        _check_snapshot_taken(kernel)
            ctx.log(f"undo: {repetition + 1}/{repeats}")
    finally:
        kernel.execute("%agent_config undo_depth=1\ndel _bench_big")
    return _report(samples, copy_times, dropped_copy_times, frame_bytes)


def _check_snapshot_taken(kernel: Any) -> None:
    planned = check(kernel.execute("%agent_undo --dry-run"), "%agent_undo --dry-run").stdout
    if SNAPSHOT_TAKEN not in planned:
        raise RuntimeError(f"undo took no copy of the frame; %agent_undo --dry-run said: {planned}")


def _timed_run(ctx: Any, kernel: Any, code: str) -> float:
    ctx.server.reset()
    ctx.server.script(
        ours_reply("Run it.", code), ours_reply("Done.", "final_answer(len(_bench_big))")
    )
    started = time.perf_counter()
    check(kernel.execute(agent_line("Work on the frame.", 2), timeout=300), "the agent run")
    return time.perf_counter() - started


def _report(
    samples: dict[str, dict[str, list[float]]],
    copy_times: list[float],
    dropped_copy_times: list[float],
    frame_bytes: int,
) -> Measure:
    copy, dropped_copy = stats.median(copy_times), stats.median(dropped_copy_times)
    rows: list[list[Any]] = []
    data: dict[str, Any] = {
        "frame_bytes": frame_bytes,
        "deep_copy": stats.summary(copy_times),
        "deep_copy_dropped_at_once": stats.summary(dropped_copy_times),
    }
    for cell, by_setting in samples.items():
        on, off = stats.median(by_setting["undo on"]), stats.median(by_setting["undo off"])
        cost = None if on is None or off is None else on - off
        data[cell] = {
            **{setting: stats.summary(values) for setting, values in by_setting.items()},
            "undo_cost": cost,
        }
        in_copies = "n/a" if cost is None or not copy else f"{cost / copy:.2f}"
        rows.append([cell, ms(off), ms(on), ms(cost), in_copies])
    table = Table(
        ["cell", "undo off (run of 2 steps)", "undo on", "cost of undo", "in deep copies"],
        rows,
        caption=(
            f"A {frame_bytes / 1e6:,.0f} MB DataFrame; one `copy(deep=True)` of it takes "
            f"{ms(copy)} (median) kept alive, {ms(dropped_copy)} dropped at once."
        ),
    )
    notes = [
        "Median wall time of a two-step `%agent --approve auto` run with an instant model, "
        "undo on and off interleaved; the cost is the difference of the medians, so a cost "
        "near zero can come out slightly negative.",
        "Target: the reading cell pays nothing measurable; the mutating one about one copy. "
        "In deep copies = cost of undo / the kept copy's time. Undo keeps one copy per "
        "undoable run: at `undo_depth=1` a run's copy is freed as the next run starts, so the "
        "next copy reuses its memory and costs about as much as a copy dropped at once.",
        "Every undo-on run of the mutating cell is checked with `%agent_undo --dry-run` to "
        "have copied the frame.",
        "smolagents keeps no undo: this measure compares jupyter-agents with itself.",
    ]
    return Measure("undo", "Undo: what snapshots cost a step", [table], notes, data)
