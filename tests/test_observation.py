"""Truncation keeps head and tail, says exactly what it cut, and respects the budget."""

from __future__ import annotations

import re

from hypothesis import event, given, settings
from hypothesis import strategies as st

from jupyter_agents.core.observation import (
    CHARS_PER_TOKEN,
    MIN_BUDGET_CHARS,
    HeadTailBuffer,
    Observation,
    truncate_middle,
)

# Output is mostly lines: make newlines common so line counts are really exercised. Hypothesis
# favours short strings, so repeat them: most examples must be long enough to be cut.
_piece = st.text(st.one_of(st.characters(), st.just("\n"), st.just("a")), min_size=1, max_size=40)
output_text = st.builds(lambda piece, times: piece * times, _piece, st.integers(0, 400))

MARKER = re.compile(r"\n\[\.\.\. ([\d,]+) characters(?: \(([\d,]+) lines\))? cut \.\.\.\]\n")


def split_cut(result: str) -> tuple[str, int, int, str]:
    """head, cut characters, cut lines, tail."""
    match = MARKER.search(result)
    assert match is not None, result
    lines = int(match.group(2).replace(",", "")) if match.group(2) else 0
    return (
        result[: match.start()],
        int(match.group(1).replace(",", "")),
        lines,
        result[match.end() :],
    )


@settings(max_examples=300)
@given(text=output_text, limit=st.integers(min_value=0, max_value=3000))
def test_truncate_middle(text, limit):
    result = truncate_middle(text, limit)
    bound = max(limit, MIN_BUDGET_CHARS)
    if len(text) <= bound:
        assert result == text
        return
    event("cut")
    assert len(result) <= bound
    head, cut, cut_lines, tail = split_cut(result)
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) > 0 and len(tail) > 0
    assert len(head) + cut + len(tail) == len(text)
    assert cut_lines == text[len(head) : len(text) - len(tail)].count("\n")


@settings(max_examples=300)
@given(
    chunks=st.lists(output_text, max_size=12),
    limit=st.integers(min_value=MIN_BUDGET_CHARS, max_value=2000),
)
def test_head_tail_buffer_matches_what_was_written(chunks, limit):
    buffer = HeadTailBuffer(limit)
    for chunk in chunks:
        assert buffer.write(chunk) == len(chunk)
    whole = "".join(chunks)
    result = buffer.text()
    assert buffer.total_chars == len(whole)
    if len(whole) <= limit:
        assert result == whole
        return
    event("cut")
    assert len(result) <= limit
    head, cut, cut_lines, tail = split_cut(result)
    assert whole.startswith(head) and whole.endswith(tail)
    assert len(head) + cut + len(tail) == len(whole)
    assert cut_lines == whole[len(head) : len(whole) - len(tail)].count("\n")


def test_head_tail_buffer_keeps_memory_bounded():
    buffer = HeadTailBuffer(1000)
    for _ in range(10_000):
        buffer.write("x" * 1000 + "\n")
    assert len(buffer._tail) <= 1000 and sum(map(len, buffer._head)) <= 1000
    assert "characters (" in buffer.text()


@settings(max_examples=200)
@given(
    stdout=st.text(max_size=20_000),
    stderr=st.text(max_size=5_000),
    result=st.one_of(st.none(), st.text(max_size=10_000)),
    error=st.one_of(st.none(), st.text(min_size=1, max_size=10_000)),
    displays=st.lists(st.text(max_size=300), max_size=25),
    more_displays=st.integers(min_value=0, max_value=10**7),
    tokens=st.integers(min_value=100, max_value=2000),
)
def test_rendered_observation_stays_within_budget(
    stdout, stderr, result, error, displays, more_displays, tokens
):
    text = Observation(stdout, stderr, result, displays, error, more_displays).render(tokens)
    budget = max(tokens * CHARS_PER_TOKEN, MIN_BUDGET_CHARS * 4)
    assert len(text) <= budget + 300  # section headings
    if error:
        assert "Error:\n" in text


def test_the_error_survives_a_flood_of_output():
    error = "Traceback (most recent call last):\n  File 'cell', line 3\nValueError: bad value"
    text = Observation(stdout="spam\n" * 100_000, error=error).render(500)
    assert "ValueError: bad value" in text and "spam" in text
    assert len(text) < 500 * CHARS_PER_TOKEN + 300


def test_empty_observation_says_so():
    assert Observation().render(100) == "The cell ran and produced no output."
