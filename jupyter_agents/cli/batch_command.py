"""The body of ``jupyter agents batch``: check everything, then hand the jobs to Dask.

Every input is checked before a cluster starts or a job runs (the notebooks, the parameter
file and each notebook's ``parameters`` cell, the output folder, the options), so a mistake
costs one line and exit status 2, not a half-run batch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .commands import check_rerun_trust
from .inputs import UsageError, agent_cell_timeout, read_notebook, user_cell_timeout

if TYPE_CHECKING:
    from .batch import Cluster

MISSING_EXTRA = (
    "jupyter agents batch needs Dask and papermill, which are not installed here; "
    "install them with: pip install 'jupyter-agents[batch]'"
)


def batch_command(args: argparse.Namespace) -> int:
    """Run every notebook with every parameter set on Dask; 0 if all jobs succeeded."""
    try:
        import distributed  # noqa: F401
        import papermill  # noqa: F401

        from . import batch
    except ImportError:
        raise UsageError(MISSING_EXTRA) from None
    check_rerun_trust(args)
    cluster = _cluster(args)
    if args.retries < 0:
        raise UsageError("--retries takes a number of retries, 0 or more.")
    agent_cell_timeout(args), user_cell_timeout(args)  # checked now, used by each job
    notebooks = {Path(path): read_notebook(path) for path in args.notebooks}
    try:
        sets = batch.read_parameter_sets(args.params) if args.params else None
        for path, nb in notebooks.items():
            if sets:
                batch.check_notebook_takes(nb, path, sets)
        outdir = _output_folder(args.output)
        jobs = batch.plan_jobs(list(notebooks), sets, outdir)
    except batch.ParameterError as problem:
        raise UsageError(str(problem)) from None
    options = batch.RunOptions(
        model=args.model,
        approve=args.approve,
        rerun=args.rerun,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        kernel=args.kernel,
    )
    requests = {job.output: batch.prepare(job, notebooks[job.notebook], options) for job in jobs}
    run = batch.BatchRun(jobs, outdir, args.retries, sys.stderr, force=args.force)
    try:
        return run.run(requests, cluster)
    except batch.SchedulerUnreachable as problem:
        raise UsageError(str(problem)) from None


def _cluster(args: argparse.Namespace) -> Cluster:
    if args.scheduler and args.workers is not None:
        raise UsageError("give --workers (a local cluster) or --scheduler (yours), not both.")
    workers = (os.cpu_count() or 1) if args.workers is None else args.workers
    if workers < 1:
        raise UsageError("--workers takes a number of worker processes, 1 or more.")
    from .batch import Cluster

    return Cluster(workers=workers, scheduler=args.scheduler)


def _output_folder(path: str) -> Path:
    outdir = Path(path)
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir} is a file; give a folder for the outputs.")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the output folder {outdir}: {error.strerror}.") from None
    if not os.access(outdir, os.W_OK):
        raise UsageError(f"cannot write into {outdir}: permission denied.")
    return outdir
