"""Running a batch's jobs on Dask: submit, retry, write each output as it arrives, summarise.

Dask distributed schedules the jobs (a :class:`~distributed.LocalCluster` of worker processes
by default, or any cluster by its scheduler's address); this module only decides what a
finished, failed or lost job means. A job whose kernel died, or whose worker died under it,
is submitted again, preferably to another worker, up to ``retries`` times. Outputs and the
summary are written by this process as jobs finish, so Ctrl-C, or a worker killed, loses
nothing that finished.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import nbformat

from ...text.terminal_text import first_line, one_line
from . import summary
from .job_run import JobOutcome, JobRequest, run_job
from .jobs import Job
from .progress import BatchProgress
from .summary import CANCELLED, DONE, FAILED, SKIPPED, JobRow, job_row


class SchedulerUnreachable(ConnectionError):
    """``--scheduler`` names no Dask scheduler that answers, or one whose workers cannot run
    a job."""


#: Seconds to wait for a worker to join a cluster of your own before saying it has none.
WORKER_WAIT = 30


@dataclass(frozen=True)
class Cluster:
    """Where jobs run: ``scheduler`` (an address) or a new local cluster of ``workers``."""

    workers: int = 1
    scheduler: str | None = None


@dataclass
class _Attempt:
    job: Job
    request: JobRequest
    number: int = 1


class BatchRun:
    """One batch: the jobs to run now, the ones finished earlier, and the rows so far."""

    def __init__(
        self, jobs: list[Job], outdir: Path, retries: int, stream: TextIO, force: bool = False
    ) -> None:
        self.outdir = outdir
        self.retries = retries
        self.stream = stream
        self.rows: dict[Path, JobRow] = {}
        self._started = time.monotonic()
        #: In every task key: two batches on one shared cluster never share a result.
        self._token = uuid.uuid4().hex[:8]
        self.pending = [job for job in jobs if force or not job.is_complete()]
        earlier = _earlier_rows(outdir)
        for job in jobs:
            if job not in self.pending:
                self.rows[job.output] = earlier.get(job.output) or _row_from_output(job)
        self.order = [job.output for job in jobs]

    def run(self, requests: dict[Path, JobRequest], cluster: Cluster) -> int:
        """Run the pending jobs; 0 if all succeeded, 1 if one failed, 130 on Ctrl-C."""
        progress = BatchProgress(len(self.order), self.stream, skipped=len(self.rows))
        try:
            with dask_client(cluster) as client:
                self._announce(cluster)
                self._run_on(client, requests, progress)
        except KeyboardInterrupt:
            progress.end()
            total = self._end_unfinished(CANCELLED, "cancelled by Ctrl-C")
            print(f"batch stopped by Ctrl-C; kept what finished: {summary.totals_line(total)}",
                  file=self.stream)  # fmt: skip
            return 130
        except SchedulerUnreachable:
            raise
        except Exception as error:  # a lost scheduler, a full disk: say so, keep what finished
            progress.end()
            problem = one_line(f"{type(error).__name__}: {error}", 300)
            total = self._end_unfinished(FAILED, f"the batch stopped: {problem}")
            print(f"batch stopped: {problem}; kept what finished: {summary.totals_line(total)}",
                  file=self.stream)  # fmt: skip
            return 1
        progress.end()
        total = self._write_summary()
        print(summary.totals_line(total), file=self.stream)
        print(f"wrote {self.outdir / 'summary.csv'} and summary.json", file=self.stream)
        return 1 if total[FAILED] else 0

    def _end_unfinished(self, status: str, why: str) -> dict[str, Any]:
        """Rows for the jobs that did not finish (one whose output was written as the batch
        stopped counts as done), then the summary."""
        for job in self.pending:
            if job.output in self.rows:
                continue
            if job.is_complete():
                self.rows[job.output] = _row_from_output(job, DONE)
            else:
                self.rows[job.output] = job_row(job, status, None, error=why)
        return self._write_summary()

    def _announce(self, cluster: Cluster) -> None:
        where = cluster.scheduler or f"{cluster.workers} local worker process(es)"
        earlier = len(self.order) - len(self.pending)
        kept = f"; {earlier} finished earlier and kept (--force reruns them)" if earlier else ""
        print(f"batch: {len(self.pending)} job(s) to run on {where}{kept}", file=self.stream)

    def _run_on(self, client: Any, requests: dict[Path, JobRequest], progress: Any) -> None:
        from distributed import wait

        attempts: dict[Any, _Attempt] = {}
        for job in self.pending:
            attempt = _Attempt(job, requests[job.output])
            attempts[self._submit(client, attempt, avoid=None)] = attempt
        finished = failed = 0
        while attempts:
            progress.show(finished, _running(client, attempts), failed)
            try:
                done, _ = wait(list(attempts), timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none finished this second: show the progress again
                continue
            for future in done:
                attempt = attempts.pop(future)
                again = self._settle(future, attempt)
                if again is not None:
                    attempts[self._submit(client, attempt, avoid=again)] = attempt
                    continue
                finished += 1
                failed += self.rows[attempt.job.output].status == FAILED
                self._write_summary()
        progress.show(finished, 0, failed)

    def _submit(self, client: Any, attempt: _Attempt, avoid: str | None) -> Any:
        """Submit ``attempt``; a retry goes to another worker than ``avoid`` where there is one."""
        others = [address for address in client.scheduler_info()["workers"] if address != avoid]
        where = {"workers": others, "allow_other_workers": True} if avoid and others else {}
        return client.submit(
            run_job,
            attempt.request,
            key=f"{attempt.job.name}-{self._token}-attempt-{attempt.number}",
            pure=False,
            **where,
        )

    def _settle(self, future: Any, attempt: _Attempt) -> str | None:
        """Record a finished attempt; return the worker to avoid if it should run again.

        Only a death is retried (the job's worker, or its kernel): another attempt may
        succeed. A job that raised (a worker without jupyter-agents, say) would only raise
        again, so it fails at once, in one line.
        """
        job = attempt.job
        if future.status != "finished":
            error = future.exception() if future.status == "error" else None
            died = type(error).__name__ == "KilledWorker" or future.status == "lost"
            if died and attempt.number <= self.retries:
                attempt.number += 1
                return getattr(getattr(error, "last_worker", None), "address", "") or "?"
            if died:
                problem = "its worker died" + (" on every attempt" if attempt.number > 1 else "")
            elif error is None:
                problem = f"the cluster dropped the job ({future.status})"
            else:
                raised = one_line(f"{type(error).__name__}: {error}", 300)
                problem = f"the job failed on its worker: {raised}"
            self.rows[job.output] = job_row(
                job, FAILED, None, attempts=attempt.number, error=problem
            )
            return None
        outcome: JobOutcome = future.result()
        if outcome.kernel_died and attempt.number <= self.retries:
            attempt.number += 1
            return outcome.worker
        self._keep(job, outcome, attempt.number)
        return None

    def _keep(self, job: Job, outcome: JobOutcome, attempts: int) -> None:
        """Write the job's executed notebook (``.failed.ipynb`` if it failed), log and row."""
        nb = nbformat.reads(outcome.notebook_text, as_version=4)
        status = FAILED if outcome.failed else DONE
        output = job.failed_output if outcome.failed else job.output
        summary.write_atomically(output, outcome.notebook_text)
        # The output's name means "this job's last run completed": a failed rerun (--force)
        # takes the place of an earlier success, so files, summary and resume agree.
        (job.output if outcome.failed else job.failed_output).unlink(missing_ok=True)
        logs = self.outdir / "logs"
        logs.mkdir(exist_ok=True)
        summary.write_atomically(logs / f"{job.name}.log", outcome.log)
        self.rows[job.output] = job_row(
            job, status, nb, seconds=round(outcome.seconds, 2), worker=outcome.worker,
            attempts=attempts, error=first_line(outcome.problem, 300) if outcome.problem else "",
            output=output.name,
        )  # fmt: skip

    def _write_summary(self) -> dict[str, Any]:
        rows = [self.rows[output] for output in self.order if output in self.rows]
        total = summary.totals(rows, time.monotonic() - self._started)
        summary.write_summary(self.outdir, rows, total)
        return total


def _running(client: Any, attempts: dict[Any, _Attempt]) -> int:
    """How many of the batch's jobs a worker is running now (a worker may hold more than it
    has threads for: those wait)."""
    keys = {future.key for future in attempts}
    processing = client.processing()
    threads = client.nthreads()
    return sum(
        min(sum(key in keys for key in tasks), threads.get(worker, 1))
        for worker, tasks in processing.items()
    )


def _worker_lost(error: BaseException) -> str:
    return "its worker died" if type(error).__name__ == "KilledWorker" else "the job failed"


def _earlier_rows(outdir: Path) -> dict[Path, JobRow]:
    """Rows of the jobs an earlier batch into ``outdir`` finished, from its summary.json."""
    try:
        document = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
        rows = [JobRow(**entry) for entry in document.get("jobs", [])]
    except (OSError, ValueError, TypeError):
        rows = []
    return {
        outdir / row.output: JobRow(**{**row.__dict__, "status": SKIPPED})
        for row in rows
        if row.status in (DONE, SKIPPED) and row.output
    }


def _row_from_output(job: Job, status: str = SKIPPED) -> JobRow:
    try:
        nb = nbformat.read(job.output, as_version=4)
    except Exception as error:  # noqa: BLE001 - one line in the summary, the batch goes on
        return job_row(job, status, None, error=f"cannot read its output: {one_line(error)}")
    return job_row(job, status, nb, output=job.output.name)


@contextmanager
def dask_client(cluster: Cluster) -> Iterator[Any]:
    """A Dask client of a new local cluster, or of the scheduler at ``cluster.scheduler``
    (also what ``python -m benchmarks.quality --workers/--scheduler`` runs its tasks on)."""
    import dask
    from distributed import Client, LocalCluster

    if cluster.scheduler:
        try:
            client = Client(cluster.scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerUnreachable(
                f"no Dask scheduler answers at {cluster.scheduler} ({one_line(error, 200)}); "
                "start one (`dask scheduler`, then `dask worker ADDRESS`) or drop --scheduler "
                "to run on this machine."
            ) from None
        with client:
            _check_workers(client, cluster.scheduler)
            yield client
        return
    # A worker that dies under a job: tell us at once (we retry, and count it), rather than
    # the scheduler retrying silently.
    # A worker holds only the job it runs (saturation 1.0): a worker that dies takes no
    # waiting job with it.
    local_settings = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(local_settings):
        local = LocalCluster(
            n_workers=cluster.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # failures are the summary's, not the log's
        )
    with local, Client(local) as client:
        from .worker_plugin import IgnoreCtrlC

        client.register_plugin(IgnoreCtrlC(), name="jupyter-agents-ignore-ctrl-c")
        yield client


def _check_workers(client: Any, address: str) -> None:
    """The cluster has a worker, and its workers can import the job: else one line, now,
    rather than every job failing the same way."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except TimeoutError:
        raise SchedulerUnreachable(
            f"the Dask scheduler at {address} has no workers (waited {WORKER_WAIT} s); start "
            f"one with `dask worker {address}`."
        ) from None
    try:
        client.run(importlib.import_module, "jupyter_agents.cli.batch.job_run")
    except Exception as error:  # noqa: BLE001 - whatever the worker raised, in one line
        raise SchedulerUnreachable(
            f"the workers of {address} cannot run a job ({one_line(error, 200)}); install "
            "jupyter-agents (and what your notebooks import) where they run."
        ) from None
