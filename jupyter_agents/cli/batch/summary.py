"""A batch's summary: one row per job in ``summary.csv`` and ``summary.json``, then totals.

A row reads the job's executed notebook (its run records: answers, steps, tokens, cost), so
a job an earlier batch finished is summarised from its output just as a new one is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from ...core.records import METADATA_KEY, run_records
from .jobs import Job

#: A job's status in the summary.
DONE, FAILED, SKIPPED, CANCELLED = "done", "failed", "skipped", "cancelled"

COLUMNS = (
    "notebook", "parameters", "status", "answers", "steps", "tokens", "cost", "seconds",
    "worker", "attempts", "error", "output",
)  # fmt: skip


@dataclass
class JobRow:
    """One job's line in the summary."""

    notebook: str
    parameters: dict[str, Any]
    status: str
    answers: list[Any] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0
    cost: float | None = None
    seconds: float | None = None
    worker: str = ""
    attempts: int = 0
    error: str = ""
    output: str = ""


def job_row(job: Job, status: str, nb: nbformat.NotebookNode | None, **given: Any) -> JobRow:
    """The row of ``job``, its agent runs read from its executed notebook ``nb``."""
    row = JobRow(str(job.notebook), dict(job.parameters), status, **given)
    runs = [] if nb is None else run_records(nb.metadata.get(METADATA_KEY))
    for run in runs:
        if run.undone:
            continue
        if run.answer is not None:
            row.answers.append(run.answer.get("json", run.answer.get("repr")))
        row.steps += run.steps
        row.tokens += int(run.usage.get("prompt_tokens") or 0)
        row.tokens += int(run.usage.get("completion_tokens") or 0)
        if run.usage.get("cost") is not None:
            row.cost = (row.cost or 0.0) + float(run.usage["cost"])
    return row


def totals(rows: list[JobRow], seconds: float) -> dict[str, Any]:
    """The batch in one line: jobs by status, steps, tokens, cost, and its wall time."""
    costs = [row.cost for row in rows if row.cost is not None]
    counts = {status: sum(row.status == status for row in rows) for status in _STATUSES}
    return {
        "jobs": len(rows),
        **counts,
        "steps": sum(row.steps for row in rows),
        "tokens": sum(row.tokens for row in rows),
        "cost": round(sum(costs), 6) if costs else None,
        "seconds": round(seconds, 1),
    }


_STATUSES = (DONE, FAILED, SKIPPED, CANCELLED)


def totals_line(total: dict[str, Any]) -> str:
    """The totals, for the terminal."""
    counts = ", ".join(f"{total[status]} {status}" for status in _STATUSES if total[status])
    cost = "" if total["cost"] is None else f", ${total['cost']:.4f}"
    return (
        f"{total['jobs']} job(s): {counts}; {total['steps']} steps, {total['tokens']} tokens"
        f"{cost}, {total['seconds']:.1f} s"
    )


def write_summary(outdir: Path, rows: list[JobRow], total: dict[str, Any]) -> None:
    """``summary.json`` and ``summary.csv`` (a last ``TOTAL`` row), each written whole."""
    document = {"jobs": [asdict(row) for row in rows], "totals": total}
    write_atomically(outdir / "summary.json", json.dumps(document, indent=1, default=str))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        values = asdict(row)
        values["parameters"] = json.dumps(row.parameters, default=str)
        values["answers"] = json.dumps(row.answers, default=str)
        writer.writerow(["" if values[name] is None else values[name] for name in COLUMNS])
    writer.writerow(
        ["TOTAL", "", totals_line(total), "", total["steps"], total["tokens"]]
        + ["" if total["cost"] is None else total["cost"], total["seconds"]]
    )
    write_atomically(outdir / "summary.csv", text.getvalue())


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file in its folder, renamed into place when whole:
    a reader (or a resumed batch) never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
