"""The manager of a hierarchical crew: what it may decide, and reading that from its reply.

The manager writes no code, so nothing it says runs. It answers with one JSON object per
turn, delegate or finish, and the crew carries the decision out. Replies are parsed strictly
(a decision must name a real role and say what to do), because a misread decision would send
work to the wrong place; a reply that cannot be read gets a correction, like a code reply
without code does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..kernel.turn_end import match_role

_JSON_BLOCK = re.compile(r"```(?:json)?[ \t]*\n(.*?)(?:```|\Z)", re.S)


@dataclass(frozen=True)
class ManagerDecision:
    action: str  # "delegate" or "finish"
    thought: str = ""
    role: str = ""
    instructions: str = ""
    answer: str = ""

    def describe(self) -> str:
        if self.action == "finish":
            return "Finishes."
        return f"Delegates to {self.role}: {self.instructions}"


class ManagerReplyError(ValueError):
    """The manager's reply holds no valid decision; the message says what is wrong."""


def parse_manager_reply(text: str, roles: Sequence[str]) -> ManagerDecision:
    """The decision in ``text``; raises :class:`ManagerReplyError` saying what is wrong."""
    data, thought = _json_object(text)
    action = str(data.get("action", "")).strip().lower()
    if action == "finish":
        answer = str(data.get("answer", "")).strip()
        if not answer:
            raise ManagerReplyError('"finish" needs an "answer"')
        return ManagerDecision("finish", thought=thought, answer=answer)
    if action == "delegate":
        wanted = str(data.get("role", "")).strip()
        role = match_role(wanted, roles)
        if role is None:
            raise ManagerReplyError(f"there is no role named {wanted!r}")
        instructions = str(data.get("instructions", "")).strip()
        if not instructions:
            raise ManagerReplyError('"delegate" needs "instructions"')
        return ManagerDecision("delegate", thought=thought, role=role, instructions=instructions)
    raise ManagerReplyError(f'"action" must be "delegate" or "finish", not {action or "missing"!r}')


def _json_object(text: str) -> tuple[dict, str]:
    """The reply's JSON object and the prose around it."""
    match = _JSON_BLOCK.search(text)
    if match is not None:
        candidate, thought = match.group(1), (text[: match.start()] + text[match.end() :])
    else:  # no fence: the outermost braces
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ManagerReplyError("no JSON object found")
        candidate, thought = text[start : end + 1], text[:start] + text[end + 1 :]
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as error:
        raise ManagerReplyError(f"the JSON does not parse ({error.msg})") from None
    if not isinstance(data, dict):
        raise ManagerReplyError('the JSON must be an object with an "action"')
    return data, " ".join(thought.split())
