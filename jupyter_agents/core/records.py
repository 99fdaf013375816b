"""What a notebook keeps about agent runs, as typed records: cell provenance and run records.

The notebook is the shareable record, and several parts read it: the recorder, replay, Run
All, the headless client, ``jupyter agents replay`` and ``export``. They all read and write
through these classes, so a field means one thing everywhere (a cell "cut short" is one
field, statuses are enums). ``dump`` writes the JSON the shipped schemas describe
(``schemas/cell.json``, ``schemas/notebook.json``, see docs/notebook-format.md); a cell's
provenance is checked against its schema as it is written, so a writer cannot drift from the
format. Reading is forgiving, as it always
was: a notebook may be hand-edited or come from an older version, so what cannot be read is
left out (an unknown status, a missing field) rather than failing Run All; ``jupyter agents
run`` reports such damage through :func:`jupyter_agents.notebook.schema.metadata_errors`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .result import RunStatus
from .risk_flags import Category, RiskFlag
from .steps import StepStatus

#: The key of jupyter-agents' entries in notebook and cell metadata.
METADATA_KEY = "jupyter_agents"
#: A step cell with one of these statuses was run (by a human's decision or an auto policy).
RAN_STATUSES = frozenset({StepStatus.APPROVED, StepStatus.EDITED, StepStatus.AUTO})


@cache
def schema(name: str) -> dict[str, Any]:
    """The shipped JSON Schema ``name`` ("cell" or "notebook")."""
    text = resources.files("jupyter_agents").joinpath("schemas", f"{name}.json").read_text()
    return json.loads(text)


class RecordError(ValueError):
    """A record about to be written breaks its schema: a bug in the writer, never user input."""


@cache
def validator(name: str, definition: str | None = None) -> Any:
    """A validator for schema ``name``, or for one of its ``$defs`` (a run record, say)."""
    # Imported when first needed: jsonschema costs about a second to import on a busy machine,
    # and a kernel that only reads records never needs it.
    from jsonschema import Draft202012Validator

    whole = schema(name)
    if definition is None:
        return Draft202012Validator(whole)
    return Draft202012Validator({"$defs": whole["$defs"], "$ref": f"#/$defs/{definition}"})


@cache
def _compiled_check(name: str, definition: str | None = None) -> Any:
    """The check :func:`checked` runs, compiled by fastjsonschema (installed with nbformat).

    Why not :func:`validator`: a kernel writes its first record at the first step of its
    first run, and importing jsonschema costs seconds of CPU there (its format checkers build
    grammars at import: 3 s per fresh kernel here, paid again by every batch job). The
    records are checked for their structure; formats are not enforced, as jsonschema's
    validators do not enforce them by default either.
    """
    import fastjsonschema

    whole = schema(name)
    target = (
        whole if definition is None else {"$defs": whole["$defs"], "$ref": f"#/$defs/{definition}"}
    )
    return fastjsonschema.compile(target, use_formats=False)


def checked(entry: dict[str, Any], name: str, definition: str | None = None) -> dict[str, Any]:
    """``entry``, after checking it against its schema (raises :class:`RecordError`)."""
    from fastjsonschema import JsonSchemaValueException

    try:
        _compiled_check(name, definition)(entry)
    except JsonSchemaValueException as error:
        raise RecordError(f"{definition or name} record: {error.message}") from None
    return entry


def _enum(kind: Any, value: Any) -> Any:
    """``kind(value)``, or None when ``value`` is not one of its values."""
    try:
        return kind(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class PromptMark:
    """The ``%agent`` or ``%%crew`` cell that started run ``run_id``."""

    run_id: str

    def dump(self) -> dict[str, Any]:
        return checked({"run_id": self.run_id, "prompt": True}, "cell")


@dataclass(frozen=True)
class SectionMark:
    """The markdown heading of a crew role's section."""

    run_id: str
    section: str
    role: str

    def dump(self) -> dict[str, Any]:
        return checked({"run_id": self.run_id, "section": self.section, "role": self.role}, "cell")


@dataclass(frozen=True)
class StepProvenance:
    """A cell an agent proposed, and what became of it."""

    run_id: str
    step: int
    role: str
    model: str
    #: How it was decided; None while it waits for a decision ("pending" in the notebook).
    status: StepStatus | None
    #: The model's original code, for a cell the human edited before it ran.
    proposed_source: str | None = None
    #: Why the human rejected it.
    reason: str | None = None
    #: Approved and running: set before the cell runs, removed when it ends.
    running: bool = False
    #: The cell did not complete (interrupt, time limit, kernel restart or death): its
    #: assignments were undone, and replay skips it ("interrupted" in the notebook).
    cut_short: bool = False
    risks: tuple[RiskFlag, ...] = field(default_factory=tuple)

    @property
    def ran_to_its_end(self) -> bool:
        """It ran (approved, edited or auto) and completed: what replay runs again."""
        return self.status in RAN_STATUSES and not (self.cut_short or self.running)

    def dump(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "run_id": self.run_id,
            "step": self.step,
            "role": self.role,
            "model": self.model,
            "status": "pending" if self.status is None else self.status.value,
        }
        if self.proposed_source is not None:
            entry["proposed_source"] = self.proposed_source
        if self.reason is not None:
            entry["reason"] = self.reason
        if self.running:
            entry["running"] = True
        if self.cut_short:
            entry["interrupted"] = True
        if self.risks:
            entry["risks"] = [flag.as_json() for flag in self.risks]
        return checked(entry, "cell")

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> StepProvenance:
        """Read forgivingly: an unknown status reads as pending, unreadable flags are left out."""
        risks = entry.get("risks")
        return cls(
            run_id=str(entry.get("run_id", "")),
            step=entry.get("step") if isinstance(entry.get("step"), int) else 0,
            role=str(entry.get("role") or "agent"),
            model=str(entry.get("model", "")),
            status=_enum(StepStatus, entry.get("status")),
            proposed_source=entry.get("proposed_source"),
            reason=entry.get("reason"),
            running=bool(entry.get("running")),
            cut_short=bool(entry.get("interrupted")),
            risks=tuple(_risk(flag) for flag in risks if _risk(flag) is not None)
            if isinstance(risks, list)
            else (),
        )


def _risk(flag: Any) -> RiskFlag | None:
    if not isinstance(flag, Mapping) or _enum(Category, flag.get("category")) is None:
        return None
    return RiskFlag(Category(flag["category"]), str(flag.get("reason", "")), flag.get("line", 1))


CellRecord = PromptMark | StepProvenance | SectionMark


def cell_record(cell: Mapping[str, Any]) -> CellRecord | None:
    """What ``cell``'s metadata says about agent runs; None if nothing, or nothing valid."""
    entry = (cell.get("metadata") or {}).get(METADATA_KEY)
    if not isinstance(entry, Mapping):
        return None
    if entry.get("prompt"):
        return PromptMark(str(entry.get("run_id", "")))
    if "section" in entry:
        return SectionMark(
            str(entry.get("run_id", "")), str(entry["section"]), str(entry.get("role", ""))
        )
    if "step" in entry:
        return StepProvenance.from_entry(entry)
    return None


def step_provenance(cell: Mapping[str, Any]) -> StepProvenance | None:
    """``cell``'s provenance if it is an agent step's cell, else None."""
    record = cell_record(cell)
    return record if isinstance(record, StepProvenance) else None


@dataclass(frozen=True)
class StepMetrics:
    """One step's tokens, cost and where its time went, as the run record keeps them."""

    step: int
    role: str
    status: StepStatus
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    model_seconds: float = 0.0
    execution_seconds: float = 0.0
    waiting_seconds: float = 0.0

    def dump(self) -> dict[str, Any]:
        return {**self.__dict__, "status": self.status.value}

    @classmethod
    def load(cls, entry: Any) -> StepMetrics | None:
        """None for what cannot be read (a hand-edited record: an unknown status, say)."""
        if not isinstance(entry, Mapping) or _enum(StepStatus, entry.get("status")) is None:
            return None
        if not isinstance(entry.get("step"), int):
            return None
        known = {name: entry[name] for name in cls.__dataclass_fields__ if name in entry}
        role = str(entry.get("role") or "agent")
        return cls(**{**known, "role": role, "status": StepStatus(entry["status"])})


@dataclass
class RunRecord:
    """A run as ``notebook.metadata.jupyter_agents.runs[]`` keeps it (see run_record.py)."""

    run_id: str
    prompt_cell: str = ""
    kind: str = "agent"
    task: str = ""
    model: str = ""
    models: dict[str, str] = field(default_factory=dict)
    approve: str = ""
    #: None when a hand-edited record holds a status this version does not know.
    status: RunStatus | None = None
    steps: int = 0
    cells_run: int = 0
    #: ``{"json": value}`` or ``{"repr": text}``; None without an answer.
    answer: dict[str, Any] | None = None
    #: ``prompt_tokens``, ``completion_tokens``, ``cost``.
    usage: dict[str, Any] = field(default_factory=dict)
    #: ``total``, ``model``, ``execution``, ``waiting``.
    seconds: dict[str, float] = field(default_factory=dict)
    step_metrics: list[StepMetrics] = field(default_factory=list)
    started: str = ""
    version: str = ""
    error: str | None = None
    crew: dict[str, Any] | None = None
    transcript: dict[str, Any] | None = None
    #: ``{"at": ISO time, "not_undone": [line, ...]}`` once the run was undone.
    undone: dict[str, Any] | None = None

    def dump(self) -> dict[str, Any]:
        entry = {
            name: value
            for name, value in self.__dict__.items()
            if name not in ("error", "crew", "transcript", "undone") or value is not None
        }
        entry["status"] = None if self.status is None else self.status.value
        entry["step_metrics"] = [metrics.dump() for metrics in self.step_metrics]
        # Not checked here: a record loaded from a hand-edited notebook is dumped again when
        # its run is undone, and must not fail then. A new run's record is checked where it is
        # made (``notebook.run_record.record_of``).
        return entry

    @classmethod
    def load(cls, entry: Any) -> RunRecord | None:
        """The record in ``entry``, read forgivingly; None without a run id."""
        if not isinstance(entry, Mapping) or not entry.get("run_id"):
            return None
        known = {name: entry[name] for name in cls.__dataclass_fields__ if name in entry}
        metrics = entry.get("step_metrics")
        loaded = (StepMetrics.load(item) for item in (metrics if isinstance(metrics, list) else []))
        return cls(
            **{
                **known,
                "status": _enum(RunStatus, entry.get("status")),
                "step_metrics": [item for item in loaded if item is not None],
            }
        )


def run_records(entry: Any) -> list[RunRecord]:
    """The readable run records in ``notebook.metadata.jupyter_agents`` (``entry``), in order."""
    runs = entry.get("runs") if isinstance(entry, Mapping) else None
    loaded = (RunRecord.load(run) for run in (runs if isinstance(runs, list) else []))
    return [record for record in loaded if record is not None]
