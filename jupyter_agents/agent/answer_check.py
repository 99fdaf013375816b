"""Does a final answer rest on what ran? One nudge when it was typed in rather than computed.

Real models call ``final_answer(7)`` with nothing computed, or copy the prompt's placeholder
(``final_answer("@mean[<value>]")``). An answer is taken as computed when the expression passed
to ``final_answer`` uses any name or call (``final_answer(f"{mean:.2f}")``): it came from the
kernel. An answer written in as a literal is accepted when each number in it was shown by a
cell of this run, written in one of its cells, or given by the task (at the answer's
precision) and it holds no template blank
(``<value>``, ``{mean}``). Otherwise the run goes on, once, with a note asking the model to
compute it first; a second answer is accepted as given, so the check costs at most one step.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import prompts
from ..text.clipping import cut

_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
#: A template's blank left in: ``<value>``, or ``{mean}`` from an f-string without its ``f``.
_PLACEHOLDER = re.compile(r"<[^<>\n]{1,40}>|\{[A-Za-z_][^{}\n]{0,40}\}")
#: The most characters of the answer quoted back to the model.
QUOTED_CHARS = 200


def typed_in_answer(code: str) -> bool:
    """Whether every ``final_answer(...)`` call in ``code`` passes only literals."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return False
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "final_answer"
    ]
    if not calls:  # called some other way (a helper, an alias): cannot tell, so trust it
        return False
    arguments = [arg for call in calls for arg in [*call.args, *(k.value for k in call.keywords)]]
    return all(_literal(arg) for arg in arguments)


def _literal(node: ast.AST) -> bool:
    """Written out in the code: no name anywhere in it (so no variable, call or attribute of
    one; ``f"{mean:.2f}"`` is computed, ``"@mean[<value>]"`` and ``7`` are literals)."""
    return not any(isinstance(part, ast.Name) for part in ast.walk(node))


def unsupported_facts(answer: Any, shown: Iterable[str]) -> list[str]:
    """What in ``answer`` no cell showed: a placeholder, or a number not printed.

    An answer of words alone ("done", a summary) has nothing to check and passes; the check
    is for what a model guesses or copies: numbers and the prompt's ``<value>``.
    """
    text = str(answer)
    placeholders = [blank for blank in _PLACEHOLDER.findall(text) if not _html_tag(blank, text)]
    if placeholders:
        return placeholders
    printed = _numbers_in("\n".join(shown))
    return [number for number in _NUMBER.findall(text) if not _shown_number(number, printed)]


def _html_tag(blank: str, text: str) -> bool:
    """``<b>`` in ``<b>x</b>`` is markup, not a blank: its closing tag is there too."""
    if not blank.startswith("<"):
        return False
    name = blank[1:-1].split()[0] if blank[1:-1].split() else ""
    return blank.startswith("</") or f"</{name}>" in text


def _numbers_in(text: str) -> list[Decimal]:
    found = []
    for match in _NUMBER.findall(text):
        try:
            found.append(Decimal(match.replace(",", "")))
        except InvalidOperation:
            continue
    return found


def _shown_number(number: str, printed: list[Decimal]) -> bool:
    """Whether a printed number equals ``number`` at ``number``'s own precision."""
    value = Decimal(number.replace(",", ""))
    step = Decimal(1).scaleb(value.as_tuple().exponent)  # 0.01 for "57.72", 1 for "42"
    return any(abs(candidate - value) <= step / 2 for candidate in printed)


def verify_note(answer: Any, missing: list[str]) -> str:
    """What the model is told when its typed-in answer is not accepted yet."""
    shown = cut(repr(answer), QUOTED_CHARS)
    return prompts.render("verify_answer", answer=shown, missing=", ".join(missing[:5])).strip()
