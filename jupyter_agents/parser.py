"""Split a model reply into its thought (prose) and the Python code to run.

Models are told to answer with a short thought and one fenced python block, but real replies
vary: ```py or bare ``` fences, smolagents-style ``<code>...</code>``, prose after the code, a
closing fence cut off by a length limit, or several blocks. All of these are accepted; several
blocks are joined in order, because models that split a cell into pieces mean them to run
together. Fences in other languages (```text, ```bash, ```output) are prose, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Fence languages that hold Python. The empty string is a bare ``` fence.
PYTHON_LANGUAGES = frozenset({"", "python", "py", "python3", "ipython", "ipython3"})

# An opening fence at the start of a line, with an optional language tag (and anything after it
# on the line, e.g. a title attribute), or a <code> tag anywhere.
_OPENER = re.compile(r"^[ \t]*```[ \t]*(?P<lang>[\w.+-]*)[^\n]*(?:\n|\Z)|<code>[ \t]*\n?", re.M)
# What can end a fenced block, whichever comes first: a closing fence on its own line, a
# closing fence glued to the end of a code line ("print(x)```"), or the next opening fence with
# a language tag (the block before it was left unclosed; the opener is not consumed).
_FENCE_END = re.compile(r"```[ \t]*$\n?|^(?=[ \t]*```[ \t]*[\w.+-])", re.M)
_CODE_CLOSE = re.compile(r"</code>")
# smolagents' stop marker; some models trained on its format still emit it.
_END_CODE = re.compile(r"<end_code>")


@dataclass(frozen=True)
class ParsedReply:
    """A reply's prose and its code (``None`` when the reply holds no code)."""

    thought: str
    code: str | None


def parse_reply(text: str) -> ParsedReply:
    """Parse one model reply. Never raises: a reply without code has ``code=None``."""
    text = _END_CODE.sub("", text)
    prose: list[str] = []
    blocks: list[str] = []
    position = 0
    while (opener := _OPENER.search(text, position)) is not None:
        prose.append(text[position : opener.start()])
        is_fence = opener.group(0).lstrip().startswith("```")
        body_start = opener.end()
        body_end, position = _find_close(text, body_start, is_fence)
        body = text[body_start:body_end]
        if is_fence and opener.group("lang").lower() not in PYTHON_LANGUAGES:
            prose.append(body)
        elif body.strip():
            blocks.append(_dedent_block(body))
    prose.append(text[position:])
    thought = _tidy("".join(prose))
    code = "\n\n".join(blocks) if blocks else None
    return ParsedReply(thought=thought, code=code)


def _find_close(text: str, start: int, is_fence: bool) -> tuple[int, int]:
    """Return (end of body, position after the closer); a missing closer means end of text."""
    match = (_FENCE_END if is_fence else _CODE_CLOSE).search(text, start)
    if match is None:
        return len(text), len(text)
    return match.start(), match.end()


def _dedent_block(body: str) -> str:
    """Strip blank edges and a common indent (fences inside list items are indented)."""
    lines = body.rstrip().splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines)


def _tidy(prose: str) -> str:
    """Collapse the blank runs left where code blocks were taken out."""
    return re.sub(r"\n{3,}", "\n\n", prose).strip()
