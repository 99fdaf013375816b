"""Syntax-highlighted, escaped HTML for code shown in the widget.

Pygments (already installed with IPython) produces class-tagged spans; the colours come from
JupyterLab's own editor theme variables, so highlighted code follows the light or dark theme,
with fallbacks for frontends that don't define them. Everything is escaped: a model's reply is
untrusted text and must never be interpreted as HTML. Text-direction, invisible and control
characters are shown as markers (``⟨U+202E⟩``, :mod:`..text.hidden_text`): in the code a person
approves, they would make it read otherwise than it runs.
"""

from __future__ import annotations

import html

from pygments import highlight as _pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from ..text.hidden_text import marked_html

_FORMATTER = HtmlFormatter(nowrap=True, classprefix="ja-")
_LEXER = PythonLexer()

# Pygments token class -> JupyterLab editor variable (with a light-theme fallback).
_COLOURS = {
    "k kn kd kr kc kp": ("--jp-mirror-editor-keyword-color", "#008000"),
    "s s1 s2 sd sa sb sc se sh si sr ss sx": ("--jp-mirror-editor-string-color", "#ba2121"),
    "c c1 cm ch cs cp": ("--jp-mirror-editor-comment-color", "#408080"),
    "m mi mf mh mo mb": ("--jp-mirror-editor-number-color", "#080"),
    "o ow": ("--jp-mirror-editor-operator-color", "#aa22ff"),
    "nb bp": ("--jp-mirror-editor-builtin-color", "#008000"),
    "nf fm nc": ("--jp-mirror-editor-def-color", "#0000ff"),
    "nd": ("--jp-mirror-editor-meta-color", "#aa22ff"),
}


def code_html(code: str) -> str:
    """``code`` as highlighted HTML inside a ``<pre>``; safe to put in an HTML widget."""
    body = marked_html(_pygments_highlight(code, _LEXER, _FORMATTER))
    return f'<pre class="ja-code">{body}</pre>'


def text_html(text: str) -> str:
    """Plain text (a model's prose) as escaped HTML that keeps its line breaks."""
    return f'<div class="ja-text">{marked_html(html.escape(text))}</div>'


def stylesheet() -> str:
    """CSS for the widget, scoped under ``.jupyter-agents``."""
    rules = []
    for classes, (variable, fallback) in _COLOURS.items():
        selector = ", ".join(f".jupyter-agents .ja-code .ja-{name}" for name in classes.split())
        rules.append(f"{selector} {{ color: var({variable}, {fallback}); }}")
    return "\n".join(rules) + _LAYOUT_CSS


_LAYOUT_CSS = """
.jupyter-agents { border-left: 3px solid var(--jp-brand-color1, #1976d2); padding-left: 8px; }
.jupyter-agents .ja-code { background: var(--jp-cell-editor-background, #f7f7f7);
  color: var(--jp-content-font-color1, inherit); border: 1px solid var(--jp-border-color2, #e0e0e0);
  border-radius: 3px; padding: 6px 8px; margin: 4px 0; white-space: pre; overflow-x: auto;
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px); }
.jupyter-agents .ja-text { white-space: pre-wrap; color: var(--jp-content-font-color1, inherit); }
.jupyter-agents .ja-streaming { color: var(--jp-content-font-color2, #616161); }
.jupyter-agents .ja-muted { color: var(--jp-content-font-color2, #757575); font-size: 0.92em; }
.jupyter-agents .ja-title { font-weight: 600; margin-top: 6px; }
.jupyter-agents .ja-section { font-size: 1.1em; font-weight: 700; margin-top: 10px;
  border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.jupyter-agents .ja-handoff { margin: 6px 0; padding: 4px 8px; font-style: italic;
  border-left: 3px solid var(--jp-border-color1, #bdbdbd); }
.jupyter-agents .ja-risks { margin: 4px 0; padding: 3px 8px; border-radius: 3px;
  border-left: 3px solid var(--jp-warn-color1, #ef6c00);
  background: #fff3e0; color: var(--jp-content-font-color1, inherit);
  background: color-mix(in srgb, var(--jp-warn-color1, #ef6c00) 14%, transparent); }
.jupyter-agents .ja-risk { white-space: pre-wrap; font-size: 0.95em; }
.jupyter-agents .ja-hidden { color: var(--jp-error-color1, #c62828); font-weight: 600;
  border: 1px solid currentColor; border-radius: 2px; padding: 0 1px; }
.jupyter-agents .ja-ok { color: var(--jp-success-color1, #2e7d32); }
.jupyter-agents .ja-warn { color: var(--jp-warn-color1, #ef6c00); }
.jupyter-agents .ja-bad { color: var(--jp-error-color1, #c62828); }
"""
