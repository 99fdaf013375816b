"""Sizes and repetitions of the suite, in named presets.

Every number the suite uses is here, so a run's JSON records exactly what was measured, and
the tiny preset (used by tests/test_benchmarks.py) exercises the same code as the full one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

MEASURES = ("overhead", "execution", "context", "startup", "browser", "undo", "batch")


@dataclass(frozen=True)
class Config:
    """What to measure and how often. Medians are taken over ``repeats`` runs."""

    preset: str = "full"
    measures: tuple[str, ...] = MEASURES
    #: Measure smolagents too, when it is installed (``--without-smolagents`` turns it off).
    compare: bool = True
    #: Repetitions of the overhead measure (after one warm-up run).
    repeats: int = 7
    #: Repetitions of the execution measure (after a warm-up at tiny sizes).
    execution_repeats: int = 5
    #: Steps of the overhead task (the issue asks for 10).
    overhead_steps: int = 10
    #: Iterations of the pure-Python loop cell (the issue's reference point is 200k).
    loop_iterations: int = 200_000
    #: Numbers whose Collatz sequence the function-call cell walks.
    collatz_limit: int = 1_000
    #: Words of the string-handling cell.
    string_items: int = 20_000
    #: Rows of the pandas groupby cell, and of the cell that maps a Python lambda over rows.
    data_rows: int = 100_000
    apply_rows: int = 20_000
    #: Side of the square matrix of the numpy cell.
    matrix_size: int = 300
    #: Steps at which the full prompt is measured; the session runs to the last one.
    context_steps: tuple[int, ...] = (1, 10, 30)
    #: About how much each cell of the context session prints.
    output_bytes: int = 10_000
    #: Fresh kernels (and fresh smolagents processes) for the start-up measure.
    startup_repeats: int = 5
    #: Seconds between ``%load_ext`` and the first ``%agent`` in the "preloaded" start-up
    #: kernel: the time a person takes to type the line, in which litellm imports itself.
    startup_pause: float = 5.0
    #: Approve clicks (and streamed steps) timed in the browser; one warm-up step comes first.
    browser_repeats: int = 20
    #: Paced tokens streamed per browser step, and the pause between them.
    browser_tokens: int = 5
    browser_token_interval: float = 0.02
    #: Size of the DataFrame the undo measure's cells read or change, and its repetitions.
    undo_frame_mb: int = 100
    undo_repeats: int = 5
    #: Jobs of the batch measure, the local worker counts it tries (the first is the
    #: baseline of the speed-up), and how long its scripted model takes to answer.
    batch_jobs: int = 12
    batch_workers: tuple[int, ...] = (1, 2, 4)
    batch_model_delay: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


PRESETS = {
    "full": Config(),
    "quick": Config(
        preset="quick",
        repeats=3,
        execution_repeats=2,
        loop_iterations=50_000,
        collatz_limit=300,
        string_items=5_000,
        data_rows=20_000,
        apply_rows=5_000,
        startup_repeats=2,
        browser_repeats=5,
        undo_frame_mb=50,
        undo_repeats=3,
    ),
    # Seconds per measure: enough to run every code path, not to be read as a result.
    "tiny": Config(
        preset="tiny",
        repeats=1,
        execution_repeats=1,
        overhead_steps=3,
        loop_iterations=2_000,
        collatz_limit=30,
        string_items=200,
        data_rows=500,
        apply_rows=200,
        matrix_size=20,
        context_steps=(1, 2, 4),
        output_bytes=2_000,
        startup_repeats=1,
        startup_pause=0.5,
        browser_repeats=1,
        browser_tokens=2,
        undo_frame_mb=1,
        undo_repeats=1,
        batch_jobs=2,
        batch_workers=(1, 2),
        batch_model_delay=0.1,
    ),
}


def preset(name: str, **overrides: Any) -> Config:
    """The named preset with ``overrides`` (fields left as None keep the preset's value)."""
    changes = {key: value for key, value in overrides.items() if value is not None}
    return replace(PRESETS[name], **changes)
