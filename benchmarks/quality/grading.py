"""Grading an agent's final answer against a task's expected ``@name[value]`` items.

A number is graded at the precision the expected value is written at: the answer is rounded
to that many decimals (half up: 2.345 -> 2.35) and compared as a Decimal, so "3.1" expects
anything that rounds to 3.1 and "3.10" accepts a bare "3.1". Anything else is compared as text,
ignoring case, surrounding whitespace and quotes. The answer is read through ``str()``: a list
or a number where the ``@name[value]`` string was asked for has no items and is not scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ITEM = re.compile(r"@(\w+)\[([^\]]*)\]")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")
QUOTES = "\"'`"


@dataclass
class Grade:
    """Whether every expected name was answered right, and the first thing that was not."""

    correct: bool
    per_name: dict[str, bool] = field(default_factory=dict)
    found: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def parse_answers(text: str) -> dict[str, str]:
    """Every ``@name[value]`` in ``text``; a name given twice keeps its last value."""
    return {name: _clean(value) for name, value in ITEM.findall(text)}


def _clean(value: str) -> str:
    """The value without surrounding whitespace, quotes, or the ``<...>`` of the prompt's
    ``@name[<value>]`` placeholder, which models often copy around their value."""
    value = value.strip().strip(QUOTES).strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip().strip(QUOTES).strip()
    return value


def _number(text: str) -> Decimal | None:
    """``text`` as a finite number ("1,234.5" and "-0.25" too), else None."""
    text = text.strip()
    if THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def matches(expected: str, found: str) -> bool:
    """One value: numbers at the expected precision, text case-insensitively."""
    expected = _clean(expected)
    if PLAIN_NUMBER.fullmatch(expected):
        number = _number(found)
        if number is None:
            return False
        target = Decimal(expected)
        try:
            return number.quantize(target, rounding=ROUND_HALF_UP) == target
        except InvalidOperation:  # too many digits to round at that precision: far off
            return False
    return _clean(found).casefold() == expected.casefold()


def grade(expected: dict[str, str], answer: object) -> Grade:
    """Grade ``answer`` (anything; read with ``str()``) against ``expected``."""
    found = parse_answers(str(answer))
    if not found:
        return Grade(False, dict.fromkeys(expected, False), found, "no @name[value] in the answer")
    per_name = {name: name in found and matches(value, found[name])
                for name, value in expected.items()}  # fmt: skip
    wrong = [_why(name, expected[name], found.get(name)) for name, ok in per_name.items() if not ok]
    return Grade(not wrong, per_name, found, "; ".join(wrong) or None)


def _why(name: str, expected: str, found: str | None) -> str:
    if found is None:
        return f"{name}: expected {expected}, missing from the answer"
    shown = " ".join(found.split())
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{name}: expected {expected}, got {shown}"
