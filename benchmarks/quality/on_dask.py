"""``--workers N`` / ``--scheduler ADDRESS``: the suite's runs as tasks on Dask.

The same engine as ``jupyter agents batch`` (:func:`jupyter_agents.cli.batch.dask_client`):
a local cluster of worker processes, or an existing cluster. Each (task, system, repeat) is
one Dask task running :func:`~benchmarks.quality.__main__.run_one` on a worker; records are
stored as they arrive, so a stopped suite keeps what finished, as it does run by run. Runs
finish in any order, so the systems are no longer interleaved task by task: give both
systems the same cluster and repeats, and drift still hits both alike on average. Workers of
a remote cluster need this repository importable (``benchmarks``) and the task data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .outcome import RunRecord, RunSettings, RunStore


def run_on_dask(
    planned: list[tuple[Any, str, int, str]],
    settings: RunSettings,
    store: RunStore,
    logs: Path,
    cluster: Any,
    run_one: Callable[..., RunRecord],
    line: Callable[[RunRecord], str],
) -> list[RunRecord]:
    """Run every planned ``(task, system, repeat, label)`` on the cluster; the new records."""
    from distributed import as_completed

    from jupyter_agents.cli.batch import dask_client

    records = []
    with dask_client(cluster) as client:
        futures = {}
        for task, system, repeat, label in planned:
            keep = logs / f"{task.id}-{system}-r{repeat}"
            future = client.submit(
                run_one, task, system, repeat, settings, keep, key=label, pure=False
            )
            futures[future] = label
        print(f"{len(futures)} run(s) submitted to {client.scheduler.address}", flush=True)
        for future in as_completed(futures):
            label = futures[future]
            record = future.result()
            store.append(record)
            records.append(record)
            print(f"{label}: {line(record)}", flush=True)
    return records
