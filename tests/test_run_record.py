"""The run record's answer encoding and redaction (pure functions; kernels elsewhere)."""

from __future__ import annotations

import numpy as np

from jupyter_agents.core.result import RunResult
from jupyter_agents.notebook.run_record import decode_answer, encode_answer, run_record
from jupyter_agents.safety.redact import Redactor

KEY = "sk-proj-FAKEFAKEFAKEFAKEFAKE1234"


def test_a_numpy_scalar_answer_is_stored_as_its_number():
    assert encode_answer(np.int64(3), str) == {"json": 3}
    assert decode_answer(encode_answer(np.float64(2.5), str)) == 2.5
    assert encode_answer(np.bool_(True), str) == {"json": True}


def test_an_answer_whose_repr_fails_is_described_not_raised():
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert encode_answer(Broken(), str) == {
        "repr": "<Broken object: repr failed with RuntimeError>"
    }


def test_an_array_answer_is_stored_as_its_repr():
    assert encode_answer(np.arange(3), str) == {"repr": "array([0, 1, 2])"}


def test_the_crew_spec_in_the_record_is_redacted():
    redact = Redactor(environ={})
    crew = {
        "process": "sequential",
        "roles": [{"role": "A", "goal": f"use {KEY}", "section": "A", "tools": []}],
    }
    record = run_record(
        RunResult(task="t", model="m", approve="auto", max_steps=1),
        prompt_cell="p",
        redact=redact,
        crew=crew,
    )
    assert KEY not in str(record) and "[redacted]" in record["crew"]["roles"][0]["goal"]
