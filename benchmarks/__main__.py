"""``python -m benchmarks``: run the suite, write results/latest.md and results/latest.json.

Options choose a preset (``--quick``, ``--tiny``), a subset of measures (``--only``), sizes
(``--repeats``) and where the results go (``--out``). The exit status is 1 if any measure
failed, so a broken measure cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import machine
from .config import MEASURES, preset
from .kernels import REPO
from .report import write_reports
from .suite import run_suite

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repetitions, smaller cells")
    size.add_argument(
        "--tiny",
        action="store_true",
        help="one repetition of everything at toy sizes (what the test runs)",
    )
    parser.add_argument("--only", help=f"comma-separated measures: {','.join(MEASURES)}")
    parser.add_argument("--repeats", type=int, help="repetitions of the overhead measure")
    parser.add_argument("--execution-repeats", type=int, help="repetitions per executed cell")
    parser.add_argument("--startup-repeats", type=int, help="fresh kernels for start-up")
    parser.add_argument("--browser-repeats", type=int, help="approvals timed in the browser")
    parser.add_argument(
        "--without-smolagents",
        action="store_true",
        help="measure only jupyter-agents, even if smolagents is installed",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results directory")
    return parser.parse_args(argv)


def shown_arguments(argv: list[str]) -> str:
    """The command's arguments as the report shows them: without ``--out`` and its directory."""
    shown, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            shown.append(arg)
    return "".join(f" {arg}" for arg in shown)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    measures = tuple(args.only.split(",")) if args.only else None
    unknown = set(measures or ()) - set(MEASURES)
    if unknown:
        raise SystemExit(f"unknown measure(s): {', '.join(sorted(unknown))}")
    config = preset(
        "tiny" if args.tiny else "quick" if args.quick else "full",
        measures=measures,
        repeats=args.repeats,
        execution_repeats=args.execution_repeats,
        startup_repeats=args.startup_repeats,
        browser_repeats=args.browser_repeats,
        compare=False if args.without_smolagents else None,
    )
    started = time.perf_counter()
    date, load_before = machine.now(), machine.load()
    measures_done = run_suite(config)
    header = {
        "date": date,
        "load_before": load_before,
        "arguments": shown_arguments(argv),
        "commit": machine.commit(REPO),
        "machine": machine.describe(),
        "config": config.to_json(),
        "seconds": time.perf_counter() - started,
        "failed": [m.key for m in measures_done if m.error],
    }
    for path in write_reports(args.out, header, measures_done):
        print(path)
    if header["failed"]:
        print(f"failed: {', '.join(header['failed'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
