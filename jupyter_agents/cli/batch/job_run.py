"""One batch job, as a Dask worker runs it: ``jupyter agents run`` on a parameterised notebook.

The client prepares the job (:func:`prepare`: papermill injects the parameters) and ships the
notebook's text, so workers need no shared file system for their input; the worker executes
it through :func:`~jupyter_agents.cli.commands.run_notebook`, the code path of ``run``, in a
kernel of its own, and sends the executed notebook back for the client to write.
"""

from __future__ import annotations

import argparse
import copy
import io
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .jobs import Job
from .parameter_sets import kernel_name, notebook_language


@dataclass(frozen=True)
class RunOptions:
    """What ``run`` takes from the command line, the same for every job of a batch."""

    model: str | None = None
    approve: str | None = None
    rerun: bool = False
    timeout: float | None = None
    cell_timeout: float | None = None
    kernel: str | None = None


@dataclass(frozen=True)
class JobRequest:
    """What a worker needs to run a job: the parameterised notebook's text and the options."""

    name: str
    notebook_path: str
    notebook_text: str
    options: RunOptions


@dataclass(frozen=True)
class JobOutcome:
    """What a worker sends back: the executed notebook and how its execution ended."""

    notebook_text: str
    failed: bool
    problem: str
    kernel_died: bool
    seconds: float
    worker: str
    #: What ``run`` would have printed on the terminal, for the job's log file.
    log: str


def prepare(job: Job, notebook: nbformat.NotebookNode, options: RunOptions) -> JobRequest:
    """The job's request: ``notebook`` with the job's parameters injected the papermill way
    (a cell tagged ``injected-parameters`` after the one tagged ``parameters``)."""
    from papermill.parameterize import parameterize_notebook

    nb = nbformat.from_dict(copy.deepcopy(notebook))
    if job.parameters:
        # papermill reads every cell's tags and records the parameters in its metadata: give
        # it both, as its own loader does, and take the empty tag lists out again after.
        nb.metadata.setdefault("papermill", {})
        untagged = [cell for cell in nb.cells if "tags" not in cell.metadata]
        for cell in untagged:
            cell.metadata["tags"] = []
        nb = parameterize_notebook(
            nb,
            job.parameters,
            kernel_name=options.kernel or kernel_name(nb),
            language=notebook_language(nb),
            comment="Parameters injected by jupyter agents batch",
        )
        for cell in untagged:
            if not cell.metadata.get("tags"):
                cell.metadata.pop("tags", None)
    return JobRequest(job.name, str(job.notebook.resolve()), nbformat.writes(nb), options)


def run_job(request: JobRequest) -> JobOutcome:
    """Execute the job's notebook in a new kernel on this worker; never raises for the
    notebook's own failures (they are in the outcome), only for the worker's."""
    from ..commands import run_notebook

    started = time.monotonic()
    nb = nbformat.reads(request.notebook_text, as_version=4)
    options = request.options
    args = argparse.Namespace(
        notebook=request.notebook_path,
        model=options.model,
        approve=options.approve,
        rerun=options.rerun,
        timeout=options.timeout,
        cell_timeout=options.cell_timeout,
        kernel=options.kernel,
    )
    log = io.StringIO()
    # The kernel's stderr (its warnings, a crash) goes to the job's log, not the terminal,
    # where the batch's progress is.
    with (
        _working_folder(Path(request.notebook_path).parent) as folder,
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as kernel_stderr,
    ):
        end = run_notebook(nb, args, report=log, folder=folder, kernel_stderr=kernel_stderr)
        kernel_stderr.seek(0)
        said = kernel_stderr.read()
    if said.strip():
        log.write(f"\n--- the kernel's stderr ---\n{said}")
    return JobOutcome(
        notebook_text=nbformat.writes(nb),
        failed=end.failed,
        problem=end.problem,
        kernel_died=end.kernel_died,
        seconds=time.monotonic() - started,
        worker=_worker_address(),
        log=log.getvalue(),
    )


@contextmanager
def _working_folder(folder: Path) -> Iterator[str]:
    """The notebook's own folder where the worker has it (one machine, or a shared file
    system), so relative paths in its cells work as with ``run``; else a fresh temporary one."""
    if folder.is_dir():
        yield str(folder)
        return
    with tempfile.TemporaryDirectory(prefix="jupyter-agents-job-") as temporary:
        yield temporary


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # run outside a worker (tests, a plain loop)
        return "local"
