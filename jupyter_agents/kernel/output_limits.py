"""Output limits for agent cells: each output keeps at most ``max_output_bytes``, with a note.

A cell that prints 50 MB, or displays a 30 MB image, would send all of it over the kernel's
IOPub channel into the browser and the saved notebook. The cut happens in the kernel, before
anything is sent, and only while an agent cell runs:

- Streams: ``sys.stdout`` and ``sys.stderr`` (ipykernel's ``OutStream`` objects) get a
  ``write`` of their own for the duration of the cell, so every route into them is counted:
  ``print``, a logging handler made in an earlier cell, and ipykernel's thread that forwards
  what subprocesses and C code write to file descriptors 1 and 2. Each stream keeps its first
  ``max_output_bytes``, then one note; later writes are dropped before they reach the stream.
  The cost of a write is constant (``len``; an encode only for non-ASCII text), and dropped
  writes cost less than sent ones, so a flood of output gets faster, not slower.
- Displays and results: ipykernel's message hooks (``display_pub`` and ``displayhook``) see
  every ``display_data``, ``update_display_data`` and ``execute_result`` before it is sent. A
  bundle over the limit is replaced by the start of its plain-text form and a note naming
  what was left out.
- Errors: ipykernel publishes them itself (``_showtraceback``), so the message and the
  formatted traceback are cut there: the traceback keeps its first and last lines.

What the model sees is cut separately, to its own budget (:mod:`jupyter_agents.core.observation`).
"""

from __future__ import annotations

import json
from typing import Any


def size_of(text: str) -> int:
    """UTF-8 size of ``text``; ``len`` when it is ASCII (``isascii`` is O(1) in CPython)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def head_of(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` whose UTF-8 form fits in ``max_bytes``."""
    if text.isascii():
        return text[:max_bytes]
    return text.encode("utf-8", "surrogatepass")[:max_bytes].decode("utf-8", "ignore")


def stream_note(name: str, limit: int) -> str:
    return (
        f"\n[jupyter-agents: {name} cut here. An agent cell keeps at most {limit:,} bytes per "
        "output (max_output_bytes); the rest is not shown or saved.]\n"
    )


def display_note(total: int, left_out: dict[str, int], limit: int) -> str:
    what = ", ".join(f"{kind} ({size:,} bytes)" for kind, size in left_out.items())
    return (
        f"[jupyter-agents: this output had {total:,} bytes, more than max_output_bytes "
        f"({limit:,}); only the start of its text form is kept"
        + (f". Left out: {what}.]" if what else ".]")
    )


class StreamBudget:
    """Stands in for one stream's ``write``: passes text on until the budget is spent."""

    def __init__(self, write: Any, name: str, limit: int) -> None:
        self._write = write
        self.name = name
        self.limit = limit
        self.used = 0
        self.cut = False

    def write(self, text: Any) -> Any:
        if not isinstance(text, str):
            return self._write(text)  # the stream's own error for a non-string
        if self.cut:
            return len(text)
        size = size_of(text)
        if self.used + size <= self.limit:
            self.used += size
            return self._write(text)
        self.cut = True
        self._write(head_of(text, self.limit - self.used) + stream_note(self.name, self.limit))
        self.used = self.limit
        return len(text)


def cap_bundle(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """``data`` (a MIME bundle) unchanged if it fits in ``limit``, else a plain-text stand-in."""
    sizes = {kind: _size(value) for kind, value in data.items()}
    total = sum(sizes.values())
    if total <= limit:
        return data
    plain = data.get("text/plain")
    plain = "".join(plain) if isinstance(plain, list) else plain
    plain = plain if isinstance(plain, str) else ""
    left_out = {kind: size for kind, size in sizes.items() if kind != "text/plain"}
    note = display_note(total, left_out, limit)
    text = _without_cut_word(plain, head_of(plain, max(limit - size_of(note) - 5, 0)))
    if text != plain:
        text += " ..."
    return {"text/plain": f"{text}\n{note}" if text.strip(" .") else note}


#: A word cut at the limit and at most this long is left out whole (see below).
MAX_CUT_WORD = 256


def _without_cut_word(whole: str, head: str) -> str:
    """``head`` without the word the cut went through, when that word is short enough to be
    a key: redaction runs after the cut, and half a key no longer looks like one."""
    if head == whole or whole[len(head)].isspace():
        return head
    start = len(head)
    while start > 0 and not head[start - 1].isspace():
        start -= 1
    return head[:start] if len(head) - start <= MAX_CUT_WORD else head


def _size(value: Any) -> int:
    if isinstance(value, str):
        return size_of(value)
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return sum(size_of(part) for part in value)
    try:
        return len(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return 0


def cap_error(evalue: Any, stb: list[str], max_bytes: int) -> tuple[Any, list[str]]:
    """An error's message and traceback within ``max_bytes`` each.

    ``raise ValueError(huge)`` would otherwise put the whole message into the notebook twice:
    as the error's value and in its formatted traceback.
    """
    text = str(evalue)
    if size_of(text) > max_bytes:
        evalue = head_of(text, max_bytes) + stream_note("error message", max_bytes)
    return evalue, cap_traceback(stb, max_bytes)


def cap_traceback(lines: list[str], limit: int) -> list[str]:
    """Traceback lines within ``limit`` bytes: the first and the last (where the error is)."""
    if sum(size_of(line) for line in lines) <= limit:
        return lines
    half = limit // 2
    head: list[str] = []
    tail: list[str] = []
    used = 0
    for line in lines:
        cut = head_of(line, half)
        if used + size_of(cut) > half:
            break
        head.append(cut)
        used += size_of(cut)
    used = 0
    for line in reversed(lines[len(head) :]):
        cut = head_of(line, half)
        if used + size_of(cut) > half:
            break
        tail.insert(0, cut)
        used += size_of(cut)
    return [*head, stream_note("traceback", limit).strip(), *tail]
