"""One set of rules for an agent cell's outputs, wherever they appear: a key is never let
through half-cut, whichever link of the chain (the cap, then redaction) it meets first."""

from __future__ import annotations

from jupyter_agents.kernel.output_rules import OutputRules
from jupyter_agents.safety.redact import Redactor

KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8" * 4


def test_a_key_across_the_display_cap_is_left_out_not_half_shown():
    rules = OutputRules(max_bytes=400, redact=Redactor(environ={}))
    for offset in range(150, 330, 7):  # the cut falls before, inside and after the key
        plain = "row " * (offset // 4) + KEY + " tail" * 200
        shown = rules.bundle({"text/plain": plain, "text/html": f"<pre>{plain}</pre>"})
        text = shown["text/plain"]
        assert list(shown) == ["text/plain"] and "[jupyter-agents:" in text
        assert "sk-proj" not in text and "A1b2C3d4" not in text, offset


def test_a_long_unbroken_line_is_still_cut_where_the_limit_falls():
    rules = OutputRules(max_bytes=1000, redact=Redactor(environ={}))
    text = rules.bundle({"text/plain": "x" * 5000})["text/plain"]
    assert text.startswith("x" * 800) and len(text) <= 1000  # a run past MAX_CUT_WORD stays


def test_streams_and_errors_are_redacted_before_they_are_cut():
    sent: list[str] = []
    stream = OutputRules(max_bytes=60, redact=Redactor(environ={})).stream(sent.append, "stdout")
    stream.write("a" * 40 + " " + KEY + "\n")
    stream.flush()
    assert "sk-proj" not in "".join(sent) and "A1b2" not in "".join(sent)
    evalue, stb = OutputRules(max_bytes=50, redact=Redactor(environ={})).error(
        None, f"bad {KEY}", [f"line {KEY}"]
    )
    assert "A1b2" not in str(evalue) and not any("A1b2" in line for line in stb)
