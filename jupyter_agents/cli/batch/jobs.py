"""The jobs of a batch: each notebook once per parameter set, each with its output file.

A job's output is ``OUTDIR/<notebook>-<slug>.ipynb``, the slug naming its parameters
(``alpha=0.1_n=3``); without ``--params``, ``OUTDIR/<notebook>.ipynb``. A job that failed
writes ``<name>.failed.ipynb`` instead, so the output name exists only for a job that
completed: that is what a rerun with the same OUTDIR skips.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .parameter_sets import ParameterError, ParameterSet

#: Longest slug kept whole; a longer one is cut and given a hash of the parameters.
SLUG_LENGTH = 80


@dataclass(frozen=True)
class Job:
    """One notebook with one parameter set, and where its executed copy goes."""

    notebook: Path
    parameters: ParameterSet = field(default_factory=dict)
    output: Path = Path()

    @property
    def name(self) -> str:
        """The output's name without ``.ipynb``: the job's name in progress and summary."""
        return self.output.name.removesuffix(".ipynb")

    @property
    def failed_output(self) -> Path:
        return self.output.with_name(f"{self.name}.failed.ipynb")

    def is_complete(self) -> bool:
        """An earlier batch finished this job (outputs are renamed into place when whole)."""
        return self.output.is_file()


def plan_jobs(notebooks: list[Path], sets: list[ParameterSet] | None, outdir: Path) -> list[Job]:
    """Every notebook × every parameter set (or each notebook once without ``--params``)."""
    stems = [path.stem for path in notebooks]
    clash = next((stem for stem in stems if stems.count(stem) > 1), None)
    if clash is not None:
        raise ParameterError(
            f"two notebooks are named {clash}.ipynb and their outputs would collide in "
            f"{outdir}; rename one, or run them in separate batches."
        )
    jobs = []
    for notebook in notebooks:
        for parameters in sets if sets else [{}]:
            name = notebook.stem + (f"-{slug(parameters)}" if parameters else "")
            jobs.append(Job(notebook, parameters, outdir / f"{name}.ipynb"))
    inputs = {path.resolve() for path in notebooks}
    overwritten = next((job for job in jobs if job.output.resolve() in inputs), None)
    if overwritten is not None:
        raise ParameterError(
            f"the output {overwritten.output} would be the notebook {overwritten.notebook} "
            "itself; give -o another folder."
        )
    names = [job.output for job in jobs]
    if len(set(names)) != len(names):
        repeated = next(job for job in jobs if names.count(job.output) > 1)
        raise ParameterError(
            f"two parameter sets are the same ({json.dumps(repeated.parameters, default=str)}); "
            "remove the repeat from --params."
        )
    return jobs


def slug(parameters: ParameterSet) -> str:
    """``name=value`` pairs joined by ``_``, safe in a file name; long ones cut and hashed."""
    text = "_".join(f"{name}={_value_text(value)}" for name, value in parameters.items())
    safe = re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip("-.") or "params"
    if safe != text or len(safe) > SLUG_LENGTH or any(map(_ambiguous, parameters.values())):
        # Two sets that read the same once made safe (or once cut) must not share a file.
        digest = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode())
        safe = f"{safe[:SLUG_LENGTH]}-{digest.hexdigest()[:8]}"
    return safe


def _ambiguous(value: Any) -> bool:
    """A string that reads like another set's slug: ``"1"`` like the number 1, ``"1_b=2"``
    like two parameters."""
    if not isinstance(value, str):
        return False
    if "_" in value or "=" in value:
        return True
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, separators=(",", ":"))
