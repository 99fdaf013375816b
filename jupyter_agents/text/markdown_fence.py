"""Code in a Markdown fence that the code itself cannot close.

Why: text the model wrote is shown as Markdown when a rejected proposal is kept in the
notebook as a record. A line of three backticks in that code would end a ``` fence early,
and what follows would render as Markdown the model wrote: a heading, an image that calls a
server, or "Approved by the reviewer." CommonMark ends a fence only at a run of backticks
at least as long as the one that opened it, so the fence is made longer than any run inside.
"""

from __future__ import annotations

import re

_BACKTICKS = re.compile(r"`+")


def fenced(code: str, language: str = "python") -> str:
    """``code`` as a fenced Markdown code block whose fence no line of ``code`` can close."""
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code}\n{fence}"
