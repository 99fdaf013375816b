"""``final_answer(value)``: how generated code ends a run.

Inside an agent step it records the value and raises :class:`FinalAnswer`, a BaseException,
so that generated ``try: ... except Exception:`` cannot swallow it; and because the value is
recorded before raising, even a bare ``except:`` cannot lose it.

Outside a step, for instance when a saved notebook's agent cells are re-run without a model,
``final_answer(value)`` simply returns ``value``, so the recorded cells still run.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


class _NoAnswer:
    def __repr__(self) -> str:
        return "NO_ANSWER"


#: Sentinel: the step ended without ``final_answer`` (None is a valid answer).
NO_ANSWER: Any = _NoAnswer()


class FinalAnswer(BaseException):
    """Raised by ``final_answer`` inside an agent step to end the cell, and the run."""

    def __init__(self, value: Any) -> None:
        super().__init__("final_answer() called")
        self.value = value


@dataclass
class AnswerSlot:
    """Where ``final_answer`` leaves its value during one step."""

    value: Any = NO_ANSWER

    @property
    def filled(self) -> bool:
        return self.value is not NO_ANSWER


current_slot: ContextVar[AnswerSlot | None] = ContextVar("jupyter_agents_answer", default=None)


def final_answer(value: Any = None) -> Any:
    """End the agent run with ``value`` as its result (the value of the ``%agent`` cell)."""
    slot = current_slot.get()
    if slot is None:
        return value
    slot.value = value
    raise FinalAnswer(value)
