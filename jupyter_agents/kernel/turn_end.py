"""``final_answer(value)`` and ``handoff(to, note)``: how generated code ends a turn.

Inside an agent step they record what happened and raise a BaseException, so that generated
``try: ... except Exception:`` cannot swallow them; and because the outcome is recorded
before raising, even a bare ``except:`` cannot lose it.

Outside a step, for instance when a saved notebook's agent cells are re-run without a model,
``final_answer(value)`` returns ``value`` and ``handoff(...)`` does nothing, so the recorded
cells still run.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


class _NoAnswer:
    def __repr__(self) -> str:
        return "NO_ANSWER"


#: Sentinel: the step ended without ``final_answer`` (None is a valid answer).
NO_ANSWER: Any = _NoAnswer()


class TurnEnded(BaseException):
    """Raised by ``final_answer`` or ``handoff`` inside an agent step to end the cell."""


class FinalAnswer(TurnEnded):
    """``final_answer`` ended the cell; the value is in the step's :class:`AnswerSlot`."""

    def __init__(self) -> None:
        super().__init__("final_answer() called")


class HandedOff(TurnEnded):
    """``handoff`` ended the cell; the target and note are in the step's :class:`AnswerSlot`."""

    def __init__(self, to: str) -> None:
        super().__init__(f"handoff({to!r}) called")


@dataclass
class Handoff:
    """A role passing the work to another role, with a note for it."""

    to: str
    note: str


@dataclass
class AnswerSlot:
    """Where ``final_answer`` and ``handoff`` leave their outcome during one step."""

    value: Any = NO_ANSWER
    handoff: Handoff | None = None
    #: The roles ``handoff`` may name (empty: not in a crew).
    roles: Sequence[str] = field(default_factory=tuple)


current_slot: ContextVar[AnswerSlot | None] = ContextVar("jupyter_agents_answer", default=None)


def final_answer(value: Any = None) -> Any:
    """End the agent's run (or a role's turn) with ``value`` as its result.

    Outside a run (Run All of a recorded notebook, without a model) it does nothing: the
    recorded cell had no output either, and the ``%agent`` cell already returned the answer.
    """
    slot = current_slot.get()
    if slot is None:
        return None
    slot.value = value
    raise FinalAnswer()


def handoff(to: str, note: str = "") -> None:
    """End this role's turn and pass the work to the role ``to``, with ``note`` for it.

    The note is all the next role learns from this one besides the kernel's variables, so it
    should say what is done and where (``sales`` is clean: 12,304 rows, dates parsed...).
    """
    slot = current_slot.get()
    if slot is None:
        return None
    if not slot.roles:
        raise ValueError(
            "handoff() only works in a crew run (%%crew); call final_answer(...) instead."
        )
    target = match_role(to, slot.roles)
    if target is None:
        raise ValueError(_no_such_role(to, slot.roles))
    slot.handoff = Handoff(target, str(note))
    raise HandedOff(target)


def match_role(name: Any, roles: Sequence[str]) -> str | None:
    """The role ``name`` means, ignoring case and surrounding spaces."""
    wanted = str(name).strip().casefold()
    return next((role for role in roles if role.casefold() == wanted), None)


def _no_such_role(name: Any, roles: Sequence[str]) -> str:
    return (
        f"handoff: there is no role named {name!r}; the roles are "
        f"{', '.join(repr(role) for role in roles)}."
    )


def unknown_handoff_target(code: str, roles: Sequence[str]) -> str | None:
    """The one-line problem if ``code`` hands off (by a literal name) to a role not in ``roles``.

    Checked before a crew's cell runs, so that a misspelt role stops the cell before any of
    it runs, rather than after its first lines did. A name only known at run time is left to
    :func:`handoff`'s own check.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id != "handoff":
            continue
        target = node.args[0] if node.args else None
        target = next((kw.value for kw in node.keywords if kw.arg == "to"), target)
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            if match_role(target.value, roles) is None:
                return _no_such_role(target.value, roles) + " Nothing in this cell ran."
    return None
