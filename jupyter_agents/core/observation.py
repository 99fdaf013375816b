"""What the model learns from running a cell, cut to a budget.

A cell may print megabytes; the model needs the start (headers, first rows) and the end (the
last lines, the error) and to know how much it did not see. Budgets are in characters at about
four characters per token, which is close enough for every tokenizer we target and costs
nothing to compute, so truncation never slows the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHARS_PER_TOKEN = 4
#: Below this many characters a head/tail cut would leave nothing readable.
MIN_BUDGET_CHARS = 200


def cut_marker(chars: int, lines: int) -> str:
    """The note that replaces a cut: says exactly how much the reader did not see."""
    if lines:
        return f"\n[... {chars:,} characters ({lines:,} lines) cut ...]\n"
    return f"\n[... {chars:,} characters cut ...]\n"


def truncate_middle(text: str, max_chars: int, head_share: float = 0.6) -> str:
    """Keep the head and tail of ``text`` within ``max_chars`` (marker included).

    Text that fits is returned unchanged. Otherwise the result is ``head + marker + tail``
    where head is a prefix and tail a suffix of ``text`` and the marker names the cut size.
    """
    max_chars = max(max_chars, MIN_BUDGET_CHARS)
    if len(text) <= max_chars:
        return text
    # The marker's length depends on the numbers in it; size it for the worst case first.
    room = max_chars - len(cut_marker(len(text), text.count("\n")))
    head_len = int(room * head_share)
    tail_len = room - head_len
    head, tail = text[:head_len], text[len(text) - tail_len :] if tail_len else ""
    cut = text[head_len : len(text) - tail_len]
    return head + cut_marker(len(cut), cut.count("\n")) + tail


class HeadTailBuffer:
    """A write-only text sink that keeps the first and last characters written, and counts.

    It stands in for a full capture of stdout/stderr: memory stays bounded however much a cell
    prints, and :meth:`text` renders the same ``head + marker + tail`` as
    :func:`truncate_middle`.
    """

    def __init__(self, max_chars: int, head_share: float = 0.6) -> None:
        self.max_chars = max(max_chars, MIN_BUDGET_CHARS)
        self._head_limit = int(self.max_chars * head_share)
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self._total = 0
        self._newlines = 0

    def write(self, text: str) -> int:
        written = len(text)
        self._total += written
        self._newlines += text.count("\n")
        if self._head_len < self._head_limit:
            take = text[: self._head_limit - self._head_len]
            self._head.append(take)
            self._head_len += len(take)
            text = text[len(take) :]
        if text:
            self._tail = (self._tail + text)[-self.max_chars :]
        return written

    @property
    def total_chars(self) -> int:
        return self._total

    def text(self) -> str:
        head = "".join(self._head)
        if self._total <= self.max_chars:
            return head + self._tail
        # The marker for the whole text is at least as long as the real one: size for it.
        room = self.max_chars - len(head) - len(cut_marker(self._total, self._newlines))
        tail = self._tail[len(self._tail) - room :] if room > 0 else ""
        cut_chars = self._total - len(head) - len(tail)
        cut_lines = self._newlines - head.count("\n") - tail.count("\n")
        return head + cut_marker(cut_chars, cut_lines) + tail


@dataclass
class Observation:
    """The parts of a cell's outcome the model sees, before budgeting."""

    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    displays: list[str] = field(default_factory=list)
    error: str | None = None
    #: Displays that happened but were not kept (a cell may display thousands of things).
    more_displays: int = 0
    #: After an error: what helps fix it, from the kernel's state
    #: (:mod:`jupyter_agents.kernel.error_feedback`).
    hint: str | None = None

    def render(self, budget_tokens: int) -> str:
        """The observation text, at most about ``budget_tokens`` tokens.

        The error gets priority (the model must see why a cell failed), then the value of the
        last expression, then the streams share what is left in proportion to their size.
        """
        budget = max(budget_tokens * CHARS_PER_TOKEN, MIN_BUDGET_CHARS * 4)
        parts: list[str] = []
        error = truncate_middle(self.error, int(budget * 0.4), head_share=0.3) if self.error else ""
        result = truncate_middle(self.result, int(budget * 0.25)) if self.result else ""
        displays = ", ".join(self.displays)
        if self.more_displays:
            displays += f", and {self.more_displays:,} more"
        displays = truncate_middle(displays, int(budget * 0.15)) if displays else ""
        hint = truncate_middle(self.hint, int(budget * 0.15)) if self.hint else ""
        left = budget - len(error) - len(result) - len(displays) - len(hint)
        streams = {"stdout": self.stdout, "stderr": self.stderr}
        total = sum(len(text) for text in streams.values()) or 1
        for name, text in streams.items():
            if text.strip():
                share = max(int(left * len(text) / total), MIN_BUDGET_CHARS)
                parts.append(f"{name}:\n{truncate_middle(text.rstrip(), share)}")
        if result:
            parts.append(f"Value of the last expression:\n{result}")
        if displays:
            parts.append(f"Displayed to the user (not shown to you): {displays}")
        if error:
            parts.append(f"Error:\n{error}")
        if hint:
            parts.append(f"Hint:\n{hint}")
        if not parts:
            return "The cell ran and produced no output."
        return "\n\n".join(parts)
