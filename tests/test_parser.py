"""The reply parser: examples of real reply shapes, and properties over generated replies."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_agents.agent.parser import parse_reply


def test_fenced_python_with_prose_around():
    reply = parse_reply("Load it first.\n```python\ndf = load()\nprint(df.shape)\n```\nThen plot.")
    assert reply.code == "df = load()\nprint(df.shape)"
    assert reply.thought == "Load it first.\nThen plot."


def test_py_and_bare_fences_and_code_tags():
    assert parse_reply("```py\nx = 1\n```").code == "x = 1"
    assert parse_reply("```\nx = 2\n```").code == "x = 2"
    assert parse_reply("Thought: go.\n<code>\nx = 3\n</code>").code == "x = 3"
    assert parse_reply("<code>x = 4</code> done").code == "x = 4"


def test_missing_closing_fence_takes_the_rest():
    assert parse_reply("Here:\n```python\na = 1\nb = 2").code == "a = 1\nb = 2"
    assert parse_reply("Here:\n<code>\na = 1").code == "a = 1"


def test_several_blocks_are_joined_in_order():
    reply = parse_reply("one\n```python\na = 1\n```\ntwo\n```py\nb = 2\n```\nthree")
    assert reply.code == "a = 1\n\nb = 2"
    assert reply.thought == "one\ntwo\nthree"


def test_unclosed_block_ends_at_the_next_opening_fence():
    assert parse_reply("```python\na = 1\n```python\nb = 2\n```").code == "a = 1\n\nb = 2"


def test_closing_fence_glued_to_code():
    assert parse_reply("```python\nprint(x)```\nMore prose.").code == "print(x)"


def test_other_languages_are_prose():
    reply = parse_reply(
        "Output was:\n```text\nhello\n```\n```bash\nls\n```\n```python\nok = 1\n```"
    )
    assert reply.code == "ok = 1"
    assert "hello" in reply.thought and "ls" in reply.thought


def test_no_code_and_smolagents_end_marker():
    assert parse_reply("I need more information.").code is None
    assert parse_reply("```python").code is None  # an empty block is no code
    assert parse_reply("Code:\n```py\nfinal_answer(1)\n```<end_code>").code == "final_answer(1)"


def test_indented_fence_inside_a_list_item_is_dedented():
    reply = parse_reply("1. Do this:\n   ```python\n   if x:\n       y = 1\n   ```")
    assert reply.code == "if x:\n    y = 1"


# -- properties ------------------------------------------------------------------------------

_LINE_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
    blacklist_characters="`<>\r\n\x0b\x0c\x1c\x1d\x1e\x85",
)
_first_line = st.text(_LINE_CHARS, min_size=1, max_size=40).map(str.strip).filter(bool)
_line = st.text(_LINE_CHARS, max_size=40).map(str.rstrip)
code_text = st.builds(
    lambda first, rest: "\n".join([first, *rest]).strip("\n"),
    _first_line,
    st.lists(st.one_of(_line, _line.map(lambda s: "    " + s if s else s)), max_size=6),
)
prose = st.text(_LINE_CHARS, max_size=60).map(str.strip)
OPENERS = ["```python", "```py", "```", "``` python", "```Python3", "<code>"]


def wrap(code: str, opener: str, closed: bool = True) -> str:
    closer = "</code>" if opener == "<code>" else "```"
    return f"{opener}\n{code}\n{closer}" if closed else f"{opener}\n{code}"


@settings(max_examples=300)
@given(code=code_text, before=prose, after=prose, opener=st.sampled_from(OPENERS))
def test_any_accepted_block_yields_exactly_its_code(code, before, after, opener):
    reply = parse_reply(f"{before}\n{wrap(code, opener)}\n{after}")
    assert reply.code == code
    assert before in reply.thought and after in reply.thought


@settings(max_examples=200)
@given(code=code_text, before=prose, opener=st.sampled_from([o for o in OPENERS if o != "```"]))
def test_a_missing_closer_still_yields_the_code(code, before, opener):
    assert parse_reply(f"{before}\n{wrap(code, opener, closed=False)}").code == code


@settings(max_examples=200)
@given(code=code_text, before=prose)
def test_an_unclosed_bare_block_is_code_only_if_it_is_python(code, before):
    """A bare ``` with nothing closing it may be the closer of a block never opened."""
    try:
        ast.parse(code)
        python = True
    except (SyntaxError, ValueError):
        python = code.lstrip().startswith(("%", "!"))
    parsed = parse_reply(f"{before}\n{wrap(code, '```', closed=False)}")
    assert parsed.code == (code if python else None)


@settings(max_examples=200)
@given(
    codes=st.lists(code_text, min_size=2, max_size=4), gap=prose, opener=st.sampled_from(OPENERS)
)
def test_several_blocks_join_in_order(codes, gap, opener):
    reply = parse_reply(f"\n{gap}\n".join(wrap(code, opener) for code in codes))
    assert reply.code == "\n\n".join(codes)


@settings(max_examples=300)
@given(st.text())
def test_never_raises_and_prose_without_markers_has_no_code(text):
    reply = parse_reply(text)
    if "```" not in text and "<code>" not in text:
        assert reply.code is None


def test_code_tags_inside_prose_are_never_code():
    reply = parse_reply("You could run <code>!rm -rf data</code>, but let's not.")
    assert reply.code is None
    mixed = parse_reply("Try <code>df.head()</code> later.\n```python\nx = 1\n```")
    assert mixed.code == "x = 1"


def test_a_bare_block_next_to_a_python_block_is_prose():
    reply = parse_reply("Run:\n```python\nprint(1)\n```\nExpected output:\n```\n1\n```")
    assert reply.code == "print(1)"
    assert "Expected output:" in reply.thought and "1" in reply.thought


def test_a_block_on_one_line():
    assert parse_reply("```print(df.shape)```").code == "print(df.shape)"
    assert parse_reply("Answer:\n```python```").code is None


def test_an_opening_fence_after_prose_on_the_same_line():
    """A real model wrote the fence at the end of its sentence; the prose after the closing
    fence once ran as code (SyntaxError) because the closer was read as a bare opener."""
    text = (
        "The highest is 33.0. ```python\nfinal_answer(best)\n```\n"
        "This cell directly calls the `final_answer` function."
    )
    parsed = parse_reply(text)
    assert parsed.code == "final_answer(best)"
    assert parsed.thought.endswith("This cell directly calls the `final_answer` function.")
    # Without a Python tag, a fence in mid-line is text, as before.
    assert parse_reply("Use ``` to fence code.").code is None


def test_a_lone_closing_fence_does_not_turn_the_sentence_after_it_into_code():
    """A real model wrote its code without an opening fence, then ``` and a sentence; the
    sentence ran as code. An unclosed bare block that is not Python is prose."""
    text = "Here it is.\nx = 1\nfinal_answer(x)\n```\n\nThis code should run correctly."
    assert parse_reply(text).code is None
    # An unclosed bare block that is code (a reply cut short) is still code.
    assert parse_reply("Next:\n```\nx = 1\nprint(x)").code == "x = 1\nprint(x)"
    assert parse_reply("Install:\n```\n%pip install scipy").code == "%pip install scipy"
