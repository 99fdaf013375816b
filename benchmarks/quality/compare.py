"""``python -m benchmarks.quality.compare LABEL=DIR ...``: one table over several suite runs.

Each DIR is a ``--out`` folder of ``python -m benchmarks.quality``; the table is computed from
its ``quality-runs.jsonl``, so a before/after comparison in the docs is never typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .outcome import RUNS_FILE, RunRecord, read_records
from .report import SYSTEM_NAMES, summarize

SYSTEMS = ("ours", "smolagents")


def load(folder: Path) -> list[RunRecord]:
    """The runs of one ``--out`` folder that say something (not the harness's own failures)."""
    path = folder / RUNS_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: pass a folder written by --out")
    return [r for r in read_records(path) if r.outcome.ended != "harness-error"]


def in_common(runs: list[tuple[str, list[RunRecord]]]) -> list[tuple[str, list[RunRecord]]]:
    """Only the (task, repeat) pairs every folder finished for every system, so runs stopped
    part way are compared on the same tasks."""
    finished = [
        {(r.task, r.repeat) for r in records if r.system == system}
        for _, records in runs
        for system in SYSTEMS
    ]
    shared = set.intersection(*finished) if finished else set()
    kept = [(label, [r for r in rs if (r.task, r.repeat) in shared]) for label, rs in runs]
    return kept


def table(runs: list[tuple[str, list[RunRecord]]]) -> str:
    rows = [
        "| Run | System | Success (spread over repeats) | Easy | Medium | Hard "
        "| Median steps | Median model calls | Median prompt tokens / task "
        "| Ended in ReplyFormatError | Median wall s |",
        "|" + " --- |" * 11,
    ]
    for label, records in runs:
        for system, s in summarize(records, list(SYSTEMS)).items():
            rows.append(_row(label, system, s))
    return "\n".join(rows)


def _row(label: str, system: str, s: dict[str, Any]) -> str:
    rates = s["success_rate_per_repeat"]
    spread = f"; {min(rates):.0%}–{max(rates):.0%}" if len(rates) > 1 else ""
    levels = [s["success_by_level"].get(level) for level in ("easy", "medium", "hard")]
    shown = " | ".join("n/a" if v is None else f"{v:.0%}" for v in levels)
    format_errors = s["endings"].get("ReplyFormatError", 0)
    return (
        f"| {label} | {SYSTEM_NAMES.get(system, system)} | **{s['success_rate']:.0%}** "
        f"({s['correct']}/{s['runs']}{spread}) | {shown} | {s['median_steps']:g} "
        f"| {s['median_model_calls']:g} "
        f"| {s['median_prompt_tokens']:,.0f} | {format_errors} | {s['median_seconds']:.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality.compare", description=__doc__
    )
    parser.add_argument("runs", nargs="+", metavar="LABEL=DIR")
    parser.add_argument(
        "--common", action="store_true", help="only the tasks and repeats every folder finished"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    loaded = []
    try:
        for item in args.runs:
            label, sep, folder = item.partition("=")
            if not sep or not label or not folder:
                raise ValueError(f"{item!r} is not LABEL=DIR, e.g. before=benchmarks/results/b")
            loaded.append((label, load(Path(folder))))
    except ValueError as problem:
        print(f"python -m benchmarks.quality.compare: {problem}", file=sys.stderr)
        return 2
    print(table(in_common(loaded) if args.common else loaded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
