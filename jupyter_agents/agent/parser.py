"""Split a model reply into its thought (prose) and the Python code to run.

Models are told to answer with a short thought and one fenced python block, but real replies
vary: ```py or bare ``` fences, smolagents-style ``<code>...</code>``, prose after the code, a
closing fence cut off by a length limit, a whole block on one line, several blocks, or an
opening ```python at the end of a line of prose (a real 1.5B model's habit). All of
these are accepted; several blocks are joined in order, because models that split a cell into
pieces mean them to run together.

What is *not* code matters as much, because code runs: fences in other languages (```text,
```bash, ```output) are prose; a bare ``` block next to a python-tagged one is prose (typically
"expected output"); and ``<code>`` counts only at the start of a line, so ``<code>x</code>``
mentioned inside a sentence is never executed.

A bare ``` with no closing fence after it, followed by text that is not Python, is the closer
of a block the model never opened (seen with a real model: the code without its opening
fence, then ```, then "This code should run correctly."): that text is prose, never run.

Known limit: a code block whose own text contains a line that is just ``` (a string holding
Markdown) ends at that line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

#: Fence languages that hold Python. The empty string is a bare ``` fence.
PYTHON_LANGUAGES = frozenset({"", "python", "py", "python3", "ipython", "ipython3"})

# At the start of a line: a whole block on one line (```print(x)```), an opening fence with an
# optional language tag (anything after it on the line, e.g. a title, is ignored), or <code>.
_OPENER = re.compile(
    r"^[ \t]*```(?P<inline>[^`\n]+)```[ \t]*$\n?"
    r"|^[ \t]*```[ \t]*(?P<lang>[\w.+-]*)[^\n]*(?:\n|\Z)"
    # After prose on the same line ("...is 33.0. ```python"), only with a Python tag.
    r"|(?<=[^\s`])[ \t]*```(?P<midlang>python3?|py|ipython3?)[ \t]*(?:\n|\Z)"
    r"|^[ \t]*<code>[ \t]*\n?",
    re.M,
)
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
    blocks: list[tuple[bool, str, str]] = []  # (explicitly python?, code, its original text)
    position = 0
    while (opener := _OPENER.search(text, position)) is not None:
        prose.append(text[position : opener.start()])
        inline = opener.group("inline")
        if inline is not None:
            position = opener.end()
            if inline.strip().lower() not in PYTHON_LANGUAGES:
                blocks.append((False, inline.strip(), opener.group(0)))
            continue
        is_fence = opener.group(0).lstrip().startswith("```")
        body_start = opener.end()
        body_end, position = _find_close(text, body_start, is_fence)
        body = text[body_start:body_end]
        lang = (opener.group("lang") or opener.group("midlang") or "").lower()
        lang = lang if is_fence else "code-tag"
        if is_fence and lang not in PYTHON_LANGUAGES:
            prose.append(body)
        elif is_fence and not lang and body_end == len(text) and _reads_as_prose(body):
            # A lone ``` that closed a block the model never opened, then its closing words.
            prose.append(opener.group(0) + body)
        elif body.strip():
            blocks.append((lang != "", _dedent_block(body), body))
    prose.append(text[position:])
    explicit = any(is_explicit for is_explicit, _, _ in blocks)
    code_blocks = [code for is_explicit, code, _ in blocks if is_explicit or not explicit]
    prose.extend(raw for is_explicit, _, raw in blocks if explicit and not is_explicit)
    thought = _tidy("".join(prose))
    return ParsedReply(thought=thought, code="\n\n".join(code_blocks) if code_blocks else None)


def _reads_as_prose(body: str) -> bool:
    """Text that is not Python (nor an IPython magic or shell line): a sentence."""
    first = body.strip().splitlines()[0] if body.strip() else ""
    if first.startswith(("%", "!")):
        return False
    try:
        ast.parse(_dedent_block(body))
    except (SyntaxError, ValueError):
        return True
    except RecursionError:
        return False
    return False


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
