"""``python -m benchmarks.quality``: score jupyter-agents and smolagents on data-analysis tasks.

Both systems get the same task text, model, step limit, output token limit and temperature.
Tasks run in order, and for each task every repeat of every system runs before the next task
starts (systems interleaved task by task), so drift on the machine or the provider hits both
alike. Each run gets a fresh temporary folder holding the task's CSV files. Finished runs are
appended to ``OUT/quality-runs.jsonl``; a rerun skips them (``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .. import machine
from .grading import grade
from .ours import package_location, run_ours
from .outcome import RunOutcome, RunRecord, RunSettings, RunStore
from .report import write
from .smolagents_side import run_smolagents, smolagents_available
from .tasks import DATA_DIR, Task, load_tasks, select_tasks

SYSTEMS = ("ours", "smolagents")
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "benchmarks" / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__)
    parser.add_argument("--model", required=True, help="litellm model string, e.g. openai/local")
    parser.add_argument("--systems", default="ours,smolagents", help="ours,smolagents")
    parser.add_argument("--tasks", help="N (the first N, all levels mixed) or ID,ID,...")
    parser.add_argument("--level", choices=["easy", "medium", "hard"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each task per system")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--temperature", type=float, help="default: the model's own")
    parser.add_argument("--max-tokens", type=int, default=1024, help="per reply (0: no limit)")
    parser.add_argument("--run-timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument("--fresh", action="store_true", help="forget earlier runs in --out")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        help="run N at a time on a local Dask cluster (jupyter agents batch's engine)",
    )
    where.add_argument("--scheduler", help="run on this Dask cluster (tcp://HOST:8786)")
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    parser.add_argument(
        "--report", action="store_true", help="write the report from the runs in --out; run none"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        tasks = select_tasks(load_tasks(), args.tasks, args.level)
        systems = _systems(args.systems)
    except ValueError as problem:
        print(f"python -m benchmarks.quality: {problem}", file=sys.stderr)
        return 2
    if args.list:
        for task in tasks:
            print(f"{task.id:<28} {task.level:<7} {', '.join(task.files)}")
        return 0
    settings = RunSettings(
        model=args.model,
        max_steps=args.max_steps,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        run_timeout=args.run_timeout,
    )
    try:
        store = RunStore(args.out.resolve(), settings)
    except ValueError as problem:
        print(f"python -m benchmarks.quality: {problem}", file=sys.stderr)
        return 2
    if args.fresh:
        store.clear()
    header = _header(args, settings, tasks, systems)
    if args.report:  # a run stopped part way: report what finished
        records = finished_runs(tasks, systems, store)
        header["Runs"] = f"{len(records)} of {len(tasks) * args.repeats * len(systems)} finished"
    else:
        records = run_all(tasks, systems, args.repeats, settings, store, _cluster(args))
    md, js = write(store.folder, records, header, systems)
    print(f"wrote {md}\nwrote {js}")
    return 0


def _systems(text: str) -> list[str]:
    systems = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in systems if name not in SYSTEMS]
    if unknown or not systems:
        raise ValueError(f"--systems takes {','.join(SYSTEMS)}, not {text!r}")
    if "smolagents" in systems and not smolagents_available():
        raise ValueError('smolagents is not installed: pip install -e ".[bench]"')
    return systems


def _cluster(args: argparse.Namespace) -> object | None:
    """Where runs go with ``--workers``/``--scheduler``; None: one by one, in this process."""
    if args.workers is None and not args.scheduler:
        return None
    from jupyter_agents.cli.batch import Cluster

    return Cluster(workers=args.workers or 1, scheduler=args.scheduler)


def run_all(
    tasks: list[Task],
    systems: list[str],
    repeats: int,
    settings: RunSettings,
    store: RunStore,
    cluster: object | None = None,
) -> list[RunRecord]:
    """Every (task, repeat, system) not already in the store, with a line of progress each;
    on a Dask cluster when ``cluster`` is given."""
    records = finished_runs(tasks, systems, store)
    done = {record.key() for record in records}
    total = len(tasks) * repeats * len(systems)
    logs = store.folder / "quality-runs"
    logs.mkdir(exist_ok=True)
    count = 0
    planned: list[tuple[Task, str, int, str]] = []
    for number, task in enumerate(tasks, start=1):
        for repeat in range(1, repeats + 1):
            for system in systems:
                count += 1
                label = f"[{count}/{total}] task {number}/{len(tasks)} {task.id} ({task.level}) "
                label += f"{system} r{repeat}"
                if (task.id, system, repeat) in done:
                    print(f"{label}: done earlier, skipped", flush=True)
                    continue
                if cluster is not None:
                    planned.append((task, system, repeat, label))
                    continue
                print(f"{label}: running...", flush=True)
                keep = logs / f"{task.id}-{system}-r{repeat}"
                record = run_one(task, system, repeat, settings, keep)
                store.append(record)
                records.append(record)
                print(f"{label}: {_line(record)}", flush=True)
    if planned:
        from .on_dask import run_on_dask

        records += run_on_dask(planned, settings, store, logs, cluster, run_one, _line)
    return records


def finished_runs(tasks: list[Task], systems: list[str], store: RunStore) -> list[RunRecord]:
    """The store's runs of these tasks and systems. A run the harness itself failed (no
    notebook written, ...) says nothing about either system: it is left out, to be run again."""
    wanted = {t.id for t in tasks}
    return [
        r
        for r in store.load()
        if r.task in wanted and r.system in systems and r.outcome.ended != "harness-error"
    ]


def run_one(task: Task, system: str, repeat: int, settings: RunSettings, keep: Path) -> RunRecord:
    """One run in a fresh folder holding the task's files, graded."""
    with tempfile.TemporaryDirectory(prefix=f"quality-{task.id}-") as folder:
        workdir = Path(folder)
        for name in task.files:
            shutil.copy(DATA_DIR / name, workdir / name)
        started = time.perf_counter()
        if system == "ours":
            outcome = run_ours(task.prompt(), workdir, settings, keep.with_suffix(".ipynb"))
        else:
            outcome = run_smolagents(task.prompt(), workdir, settings, keep.with_suffix(".json"))
        outcome.seconds = round(time.perf_counter() - started, 2)
    result = grade(task.expected, outcome.answer)
    return RunRecord(task.id, task.level, system, repeat, result.correct, result.problem, outcome)


def _line(record: RunRecord) -> str:
    o: RunOutcome = record.outcome
    verdict = "correct" if record.correct else f"not scored ({record.problem or o.ended})"
    return (
        f"{verdict}; ended {o.ended}, {o.steps} steps, {o.model_calls} calls, "
        f"{o.prompt_tokens:,} prompt tokens, {o.seconds:.0f} s"
    )


def _header(
    args: argparse.Namespace, settings: RunSettings, tasks: list[Task], systems: list[str]
) -> dict[str, object]:
    ours = package_location() if "ours" in systems else None
    return {
        "Date": machine.now(),
        "Model": settings.model,
        "Temperature": "the model's default" if args.temperature is None else args.temperature,
        "Step limit": settings.max_steps,
        "Output tokens per reply": settings.max_tokens or "no limit",
        "Repeats": args.repeats,
        "Tasks": f"{len(tasks)} ({', '.join(task.id for task in tasks)})",
        "Suite commit": machine.commit(REPO),
        "jupyter-agents measured": f"{ours['commit']} ({ours['path']})" if ours else "not run",
        "Model server": os.environ.get("OPENAI_API_BASE", "the provider's default endpoint"),
        "Machine": _machine_line(),
    }


def _machine_line() -> str:
    described = machine.describe()
    packages = described["packages"]
    assert isinstance(packages, dict)
    return (
        f"{described['cpu']}, {described['cores']} cores, {described['memory']}, Python "
        f"{described['python']}; smolagents {packages['smolagents']}, litellm "
        f"{packages['litellm']}"
    )


if __name__ == "__main__":
    sys.exit(main())
