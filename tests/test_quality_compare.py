"""``python -m benchmarks.quality.compare``: the before/after table is computed from the runs
files, so the numbers in the docs come from what ran."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from benchmarks.quality.compare import main
from benchmarks.quality.outcome import RUNS_FILE, RunOutcome, RunRecord


def _write_runs(folder: Path, records: list[RunRecord]) -> None:
    folder.mkdir()
    lines = [json.dumps(asdict(record)) for record in records]
    (folder / RUNS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(task: str, system: str, repeat: int, correct: bool, ended: str, steps: int) -> RunRecord:
    outcome = RunOutcome(
        ended=ended, steps=steps, model_calls=steps + 1, prompt_tokens=1000 * steps, seconds=10.0
    )
    return RunRecord(task, "easy", system, repeat, correct, None, outcome)


def test_one_row_per_run_and_system_with_rates_spread_and_format_errors(
    tmp_path: Path, capsys
) -> None:
    _write_runs(
        tmp_path / "before",
        [
            _run("a", "ours", 1, False, "ReplyFormatError", 3),
            _run("a", "ours", 2, True, "completed", 1),
            _run("a", "smolagents", 1, True, "success", 2),
            _run("a", "smolagents", 2, True, "success", 2),
            _run("b", "ours", 1, False, "harness-error", 0),  # not a measurement: left out
        ],
    )
    _write_runs(tmp_path / "after", [_run("a", "ours", 1, True, "completed", 2)])
    assert main([f"before={tmp_path / 'before'}", f"after={tmp_path / 'after'}"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert rows == [
        "| before | jupyter-agents | **50%** (1/2; 0%–100%) | 50% | n/a | n/a | 2 | 3 "
        "| 2,000 | 1 | 10 |",
        "| before | smolagents CodeAgent | **100%** (2/2; 100%–100%) | 100% | n/a | n/a | 2 | 3 "
        "| 2,000 | 0 | 10 |",
        "| after | jupyter-agents | **100%** (1/1) | 100% | n/a | n/a | 2 | 3 | 2,000 | 0 | 10 |",
    ]


def test_a_folder_without_runs_is_one_line(tmp_path: Path, capsys) -> None:
    assert main([f"x={tmp_path}"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["no-label"]) == 2
    assert "is not LABEL=DIR" in capsys.readouterr().err


def test_common_keeps_the_tasks_and_repeats_every_folder_finished(tmp_path: Path, capsys) -> None:
    both = [_run("a", system, 1, True, "completed", 1) for system in ("ours", "smolagents")]
    _write_runs(
        tmp_path / "long",
        both + [_run("b", system, 1, False, "max-steps", 8) for system in ("ours", "smolagents")],
    )
    _write_runs(tmp_path / "short", [*both, _run("b", "ours", 1, False, "max-steps", 8)])
    assert main(["--common", f"long={tmp_path / 'long'}", f"short={tmp_path / 'short'}"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert len(rows) == 4 and all("**100%** (1/1)" in row for row in rows)
