"""The model calls of a run, kept so that a reader of the notebook can audit why a cell was
proposed.

Every call resends the whole conversation, so storing calls verbatim would grow with the
square of the number of steps. Instead each distinct message is stored once, in ``messages``,
and a call lists the indices of the messages it sent, then the reply. The transcript stays
within its size budget: past it, the oldest messages' text and then the oldest replies are
cut to a short head (``cut`` / ``reply_cut`` say how much was left out; the references stay,
so the structure of every call is still readable), then the newest ones; if that is still
too much, the oldest calls are dropped (``dropped_calls`` counts them). Everything is
redacted before it is stored: nothing secret is ever written, even for a moment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.events import ModelReplied, RunEvent

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
    #: The oldest calls dropped whole because even shortened they did not fit.
    dropped_calls: int = 0

    def __call__(self, event: RunEvent) -> None:
        """Subscribed to the run's events: keeps each completed model call."""
        if isinstance(event, ModelReplied):
            self.record(event.model, event.sent, event.reply, step=event.step, role=event.role)

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
        stored: dict[str, Any] = {"messages": list(self.messages), "calls": list(self.calls)}
        if self.dropped_calls:
            stored["dropped_calls"] = self.dropped_calls
        return stored

    def _ref(self, role: str, content: str) -> int:
        key = (role, content)
        if key not in self._index:
            self._index[key] = len(self.messages)
            self.messages.append({"role": role, "content": self.redact(content)})
        return self._index[key]

    def _size(self) -> int:
        return len(json.dumps(self.as_json()))

    def _fit(self) -> None:
        """Shorten, oldest first, until the transcript fits its budget (see the module doc)."""
        if self._size() <= self.max_chars:
            return
        if self._shorten(keep=KEPT_WHEN_CUT):
            return
        while len(self.calls) > 1 and self._size() > self.max_chars:
            self.calls.pop(0)
            self.dropped_calls += 1
        if self._size() > self.max_chars:
            self._shorten(keep=0)  # last resort: only the structure is left

    def _shorten(self, keep: int) -> bool:
        """Cut texts to ``keep`` characters, oldest first, until it fits; whether it does."""
        texts = [(message, "content", "cut") for message in self.messages[:-1]]
        texts += [(call, "reply", "reply_cut") for call in self.calls[:-1]]
        texts += [(message, "content", "cut") for message in self.messages[-1:]]
        texts += [(call, "reply", "reply_cut") for call in self.calls[-1:]]
        for entry, text_key, cut_key in texts:
            if _cut(entry, text_key, cut_key, keep) and self._size() <= self.max_chars:
                return True
        return self._size() <= self.max_chars


def _cut(entry: dict[str, Any], text_key: str, cut_key: str, keep: int) -> int:
    """Cut ``entry[text_key]`` to its first ``keep`` characters; how many that saved."""
    text = entry[text_key]
    if len(text) <= keep:
        return 0
    entry[text_key] = text[:keep]
    entry[cut_key] = entry.get(cut_key, 0) + len(text) - keep  # characters left out
    return len(text) - keep
