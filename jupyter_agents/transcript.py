"""The model calls of a run, kept so that a reader of the notebook can audit why a cell was
proposed.

Every call resends the whole conversation, so storing calls verbatim would grow with the
square of the number of steps. Instead each distinct message is stored once, in ``messages``,
and a call lists the indices of the messages it sent, then the reply. When the transcript
passes its size budget, the oldest messages' text is cut to a short head (the reference
stays, so the structure of every call is still readable). Everything is redacted before it
is stored: nothing secret is ever written, even for a moment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: What is kept of a message whose text was cut to stay within the budget.
KEPT_WHEN_CUT = 300


@dataclass
class Transcript:
    """Distinct messages and the calls that referenced them, within ``max_chars``."""

    redact: Callable[[str], str]
    max_chars: int = 200_000
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def record(
        self, model: str, sent: list[dict[str, str]], reply: str, *, step: int, role: str | None
    ) -> None:
        """One model call: what was sent, what came back."""
        refs = [self._ref(message["role"], str(message.get("content", ""))) for message in sent]
        call: dict[str, Any] = {"model": model, "step": step, "messages": refs}
        if role:
            call["role"] = role
        call["reply"] = self.redact(reply)
        self.calls.append(call)
        self._fit()

    def as_json(self) -> dict[str, Any]:
        return {"messages": list(self.messages), "calls": list(self.calls)}

    def _ref(self, role: str, content: str) -> int:
        key = (role, content)
        if key not in self._index:
            self._index[key] = len(self.messages)
            self.messages.append({"role": role, "content": self.redact(content)})
        return self._index[key]

    def _size(self) -> int:
        return len(json.dumps(self.as_json()))

    def _fit(self) -> None:
        """Cut the oldest messages' text until the transcript fits its budget."""
        size = self._size()
        for message in self.messages[:-1]:  # the newest message stays whole
            if size <= self.max_chars:
                return
            text = message["content"]
            if len(text) <= KEPT_WHEN_CUT or message.get("cut"):
                continue
            message["content"] = text[:KEPT_WHEN_CUT]
            message["cut"] = len(text) - KEPT_WHEN_CUT  # characters left out
            size -= len(text) - KEPT_WHEN_CUT
