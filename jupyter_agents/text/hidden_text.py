"""Characters that change how code reads without showing themselves.

Why: the person approving a cell reads it, so what they read must be what runs. Bidirectional
controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates, the LRM, RLM and
ALM marks) reorder the text around them as it is displayed while Python runs it in its stored
order: a comment can appear to close over a statement that in fact runs (Trojan Source,
CVE-2021-42574). Zero-width and other invisible characters make two strings that look the
same differ. The risk review flags both (:func:`hidden_flags`), and the widget shows each
one as a visible marker (:func:`marked_html`); the code that runs keeps them.
"""

from __future__ import annotations

import re
import unicodedata

TEXT_DIRECTION = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
INVISIBLE = "\u200b-\u200d\u2060-\u2064\ufeff"
# Controls other than tab and newline: invisible in a browser, acted on by a terminal.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"

_DIRECTION = re.compile(f"[{TEXT_DIRECTION}]")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
_SHOWN_AS_MARKER = re.compile(f"[{TEXT_DIRECTION}{INVISIBLE}{_CONTROLS}]")


def code_point(char: str) -> str:
    """``U+202E``."""
    return f"U+{ord(char):04X}"


def hidden_flags(code: str) -> list[tuple[int, str]]:
    """``(line, reason)`` for each line of ``code`` that holds hidden characters."""
    found = []
    for number, line in enumerate(code.split("\n"), start=1):
        for pattern, what in (
            (_DIRECTION, "hidden text-direction characters ({}): the code runs in another "
             "order than it reads"),
            (_INVISIBLE, "invisible characters ({}): the code holds text that does not show"),
        ):  # fmt: skip
            chars = dict.fromkeys(pattern.findall(line))  # in order, without repeats
            if chars:
                found.append((number, what.format(", ".join(map(code_point, chars)))))
    return found


def marked_html(escaped: str) -> str:
    """Escaped HTML with each hidden or control character replaced by a visible marker,
    ``⟨U+202E⟩``, whose tooltip names it."""

    def marker(match: re.Match[str]) -> str:
        char = match.group()
        name = unicodedata.name(char, "control character")
        return f'<span class="ja-hidden" title="{name}">⟨{code_point(char)}⟩</span>'

    return _SHOWN_AS_MARKER.sub(marker, escaped)
