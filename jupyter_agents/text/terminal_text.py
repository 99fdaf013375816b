"""Notebook text made safe to echo: on a terminal, and in a one-line message.

Why: a notebook is untrusted input, and what a reviewer reads about it must be what it holds.
Its sources, outputs and metadata can carry terminal escape sequences (``ESC [2K`` erases a
line), carriage returns and backspaces (which overwrite what was printed before them on the
line), and invisible or text-direction characters (which reorder or hide what is around
them). Printed as they are, they let a notebook rewrite the list of cells ``jupyter agents
replay`` says it will run. And a value can be megabytes long, while a message is one line.
So every message that echoes notebook content goes through :func:`one_line`.
"""

from __future__ import annotations

import re

#: How many characters of notebook content one message echoes, at most.
MAX_ECHO_CHARS = 200

# Everything ``str.isprintable`` rejects (C0 and C1 controls, ESC, CR, DEL, format characters
# such as bidi overrides and zero-width spaces, separators other than the space, surrogates,
# private and unassigned code points), plus the line breaks it does not.
_UNSAFE = re.compile("[^ -~]")  # fast path: plain printable ASCII needs no look


def one_line(text: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` as one line that shows what it holds: every character a terminal would act on
    (controls, escapes, line breaks, invisible and text-direction characters) written as its
    Python escape (``\\x1b``, ``\\u202e``), and the middle cut out past ``limit`` characters
    (``"head … tail"``: the end of a message often says what is wrong)."""
    text = str(text)
    if len(text) > limit:
        keep = max(limit - 1, 2)
        head = text[: (keep + 1) // 2]
        tail = text[len(text) - keep // 2 :]
        return f"{_escaped(head)}…{_escaped(tail)}"
    return _escaped(text)


def first_line(source: str, limit: int = 70) -> str:
    """A cell's first non-blank line, as :func:`one_line` shows it ("(empty)" if none)."""
    # Split at "\n" only: a carriage return inside a line is shown, never obeyed.
    lines = [line for line in str(source).split("\n") if line.strip()]
    return one_line(lines[0].strip(), limit) if lines else "(empty)"


def _escaped(text: str) -> str:
    if not _UNSAFE.search(text):
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def quoted(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)`` for a message, as :func:`one_line` clips it: what ``{value!r}`` would
    say, without echoing a whole megabyte-long value."""
    return one_line(repr(value), limit)
