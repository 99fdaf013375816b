"""Prompt templates, kept as files so they can be read and reviewed as text.

Templates use :class:`string.Template` placeholders (``$name``): no template engine, and a
missing value is an error rather than a silently empty prompt.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def _template(name: str) -> Template:
    text = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    return Template(text)


def render(name: str, **values: object) -> str:
    """Fill template ``name`` (``prompts/<name>.md``) with ``values``."""
    return _template(name).substitute(**{key: str(value) for key, value in values.items()})
