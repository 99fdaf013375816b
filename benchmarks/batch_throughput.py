"""Measure 7: batch throughput on Dask, and what the engine costs a job.

Twelve jobs (one notebook × twelve parameter sets), each a one-step agent run whose scripted
model answers after one second, as a hosted model would (the work is mostly waiting), run by
``jupyter agents batch`` with 1, 2 and 4 local worker processes: jobs per minute and the
speed-up over one worker. Then the same twelve notebooks run one after another by a plain
loop of ``jupyter agents run`` (the parameters already injected): the difference per job
from the one-worker batch is what the engine costs (or saves) a job. smolagents has no batch
engine: this measure compares our batch with our own ``run``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

from .kernels import MODEL, REPO, kernel_env, ours_reply
from .report import Measure, Table, seconds_text

sys.path.insert(0, str(REPO))
from tests.support.llm_server import Fault  # noqa: E402

NOTEBOOK = [
    ("n = 0", ["parameters"]),
    ("%load_ext jupyter_agents", []),
    ("%agent --max-steps 2 Multiply n by ten and answer it", []),
]
REPLY = ours_reply("Answer it.", "final_answer(n * 10)")


def run(ctx: Any) -> Measure:
    jobs, model_delay = ctx.config.batch_jobs, ctx.config.batch_model_delay
    folder = ctx.directory("batch")
    _write_notebook(folder / "job.ipynb")
    (folder / "params.yaml").write_text(f"n: {list(range(jobs))}\n")
    env = kernel_env(ctx.server.base_url, folder / "home")
    rows, data = [], {"jobs": jobs, "model_delay": model_delay, "workers": {}}
    for workers in ctx.config.batch_workers:
        seconds = _batch(ctx, folder, env, workers, jobs, model_delay)
        data["workers"][str(workers)] = {"seconds": seconds, "jobs_per_minute": jobs / seconds * 60}
        ctx.log(f"batch: {workers} worker(s), {jobs} jobs in {seconds:.1f} s")
    one = data["workers"][str(ctx.config.batch_workers[0])]["seconds"]
    for workers, measured in data["workers"].items():
        measured["speedup"] = one / measured["seconds"]
        rows.append(
            [workers, seconds_text(measured["seconds"]), f"{measured['jobs_per_minute']:.1f}",
             f"{measured['speedup']:.2f}×"]
        )  # fmt: skip
    loop = _plain_loop(ctx, folder, env, jobs, model_delay)
    data["plain_loop_seconds"] = loop
    data["engine_cost_per_job"] = (one - loop) / jobs
    ctx.log(f"batch: a plain loop of `jupyter agents run` took {loop:.1f} s")
    tables = [
        Table(["workers", f"{jobs} jobs took", "jobs/min", "speed-up"], rows,
              caption=f"Each job: one agent step, the model answering after {model_delay:g} s."),
        Table(["", "seconds", "per job"], [
            ["batch, 1 worker", seconds_text(one), seconds_text(one / jobs)],
            ["plain loop of `jupyter agents run`", seconds_text(loop), seconds_text(loop / jobs)],
            ["engine cost per job", "", seconds_text(data["engine_cost_per_job"])],
        ]),
    ]  # fmt: skip
    notes = [
        "Wall time of the whole `jupyter agents batch` command: cluster start, every job "
        "(a fresh kernel each), outputs and summary written.",
        "Target: speed-up ≥ 1.8× at 2 workers. A job is mostly waiting for the model, but "
        "starting its kernel and importing litellm there is CPU work: with more workers than "
        "cores that part queues for the CPU.",
        "Engine cost per job: (batch with 1 worker − plain loop) / jobs; negative when the "
        "batch saves more (one Python process for every job) than Dask adds.",
    ]
    return Measure("batch", "Batch: jobs per minute on Dask", tables, notes, data)


def _batch(ctx: Any, folder: Path, env: dict, workers: int, jobs: int, delay: float) -> float:
    _script(ctx, jobs, delay)
    out = folder / f"out-{workers}"
    command = [
        sys.executable, "-m", "jupyter_agents.cli", "batch", "job.ipynb", "--params",
        "params.yaml", "-o", str(out), "--workers", str(workers), "--model", MODEL,
        "--approve", "auto", "--force",
    ]  # fmt: skip
    started = time.perf_counter()
    _check(subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True))
    return time.perf_counter() - started


def _plain_loop(ctx: Any, folder: Path, env: dict, jobs: int, delay: float) -> float:
    """The same jobs by ``jupyter agents run``, one after another, each on the notebook with
    its parameters injected as the batch injects them."""
    from jupyter_agents.cli.batch import Job, RunOptions, prepare

    template = nbformat.read(folder / "job.ipynb", as_version=4)
    sources = []
    for n in range(jobs):
        request = prepare(Job(folder / "job.ipynb", {"n": n}), template, RunOptions())
        sources.append(folder / f"loop-{n}.ipynb")
        sources[-1].write_text(request.notebook_text, encoding="utf-8")
    _script(ctx, jobs, delay)
    started = time.perf_counter()
    for source in sources:
        command = [
            sys.executable, "-m", "jupyter_agents.cli", "run", str(source), "--model", MODEL,
            "--approve", "auto",
        ]  # fmt: skip
        _check(subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True))
    return time.perf_counter() - started


def _script(ctx: Any, jobs: int, delay: float) -> None:
    ctx.server.reset()
    ctx.server.script(*[Fault(delay=delay, then=REPLY)] * jobs)


def _check(result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"exit {result.returncode}: {result.stderr[-2000:]}")


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for source, tags in NOTEBOOK:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
