"""A run as the notebook keeps it: ``notebook.metadata.jupyter_agents.runs[]``.

The record is what makes the notebook a shareable, checkable artifact: which prompt cell
started the run, the task (redacted), the crew, the models, how it ended, totals of tokens,
cost and time, the final answer (so Run All can return it without a model) and, optionally,
the transcript of model calls. Its type is :class:`~jupyter_agents.core.records.RunRecord`; its
shape, the JSON Schema in ``schemas/notebook.json``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..core.records import RunRecord, StepMetrics, checked
from ..core.result import RunResult
from ..core.steps import Step
from ..safety.redact import redacted_json

#: An answer larger than this (as JSON or repr) is stored as a cut repr.
MAX_ANSWER_CHARS = 10_000


def run_record(
    run: RunResult,
    *,
    prompt_cell: str,
    redact: Callable[[str], str],
    models: dict[str, str] | None = None,
    crew: dict[str, Any] | None = None,
    transcript: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON record of ``run``, started from the cell ``prompt_cell``."""
    usage, timings = run.usage, run.timings
    record = RunRecord(
        run_id=run.run_id,
        prompt_cell=prompt_cell,
        kind="crew" if crew is not None else "agent",
        task=redact(run.task),
        model=run.model,
        models=dict(models or {}),
        approve=run.approve,
        status=run.status,
        steps=len(run.steps),
        cells_run=sum(1 for step in run.steps if step.code_run is not None),
        answer=encode_answer(run.answer, redact),
        usage={
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost": usage.cost,
        },
        seconds={
            "total": round(run.duration, 3),
            "model": round(timings.model_seconds, 3),
            "execution": round(timings.execution_seconds, 3),
            "waiting": round(timings.waiting_seconds, 3),
        },
        step_metrics=[_step_metrics(step) for step in run.steps],
        started=iso_time(run.started),
        version=__version__,
        error=redact(run.error) if run.error else None,
        crew=None if crew is None else redacted_json(crew, redact),
        transcript=transcript,
    )
    return checked(record.dump(), "notebook", "run")  # a writer cannot drift from the schema


def encode_answer(answer: Any, redact: Callable[[str], str]) -> dict[str, Any] | None:
    """``{"json": value}`` when the answer survives JSON unchanged, else ``{"repr": text}``.

    A NumPy scalar (``final_answer(df["x"].sum())``) is stored as the number it holds. This
    runs while the run ends, so it never raises: an object whose ``repr`` fails is described.
    """
    if answer is None:
        return None
    value = _plain_scalar(answer)
    try:
        text = json.dumps(value)
        if json.loads(text) == value and len(text) <= MAX_ANSWER_CHARS:
            redacted = redact(text)
            return {"json": json.loads(redacted) if redacted != text else value}
    except Exception:  # not JSON, or an __eq__ that does not return a truth value
        pass
    try:
        shown = repr(answer)
    except Exception as error:
        shown = f"<{type(answer).__name__} object: repr failed with {type(error).__name__}>"
    return {"repr": redact(shown)[:MAX_ANSWER_CHARS]}


def _plain_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python number (or bool, str) it holds; anything else unchanged."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        try:
            return value.item()
        except Exception:
            return value
    return value


def decode_answer(encoded: dict[str, Any] | None) -> Any:
    """The recorded answer: the value itself, or its repr as text when it was not JSON."""
    if not encoded:
        return None
    return encoded["json"] if "json" in encoded else encoded.get("repr")


def _step_metrics(step: Step) -> StepMetrics:
    """One step's tokens, cost and where its time went (model, running, waiting for you)."""
    return StepMetrics(
        step=step.number,
        role=step.role or "agent",
        status=step.status,
        prompt_tokens=step.usage.prompt_tokens,
        completion_tokens=step.usage.completion_tokens,
        cost=step.usage.cost,
        model_seconds=round(step.timings.model_seconds, 3),
        execution_seconds=round(step.timings.execution_seconds, 3),
        waiting_seconds=round(step.timings.waiting_seconds, 3),
    )


def iso_time(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")
