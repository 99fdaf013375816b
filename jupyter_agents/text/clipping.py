"""Short text for the model and for messages: one line, cut with "..." past a limit.

Unlike :mod:`.terminal_text`, nothing is escaped: these strings go into prompts and Python
messages, where an escape would only cost tokens.
"""

from __future__ import annotations


def cut(text: str, limit: int) -> str:
    """``text`` unchanged if it fits in ``limit`` characters, else its start and "..."."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def squeezed(text: object, limit: int) -> str:
    """``text`` on one line (each run of whitespace one space), then :func:`cut`."""
    return cut(" ".join(str(text).split()), limit)
