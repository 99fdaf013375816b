"""The JSON Schemas for jupyter-agents' notebook metadata, and checking a notebook against them.

``schemas/cell.json`` describes ``cell.metadata.jupyter_agents`` (a prompt cell, an agent
step, or a section heading); ``schemas/notebook.json`` describes
``notebook.metadata.jupyter_agents`` (the recorded runs). They ship with the package so other
tools can read agent notebooks without importing it. See docs/notebook-format.md.
"""

from __future__ import annotations

from typing import Any

from ..core.records import METADATA_KEY, schema, validator

__all__ = ["metadata_errors", "schema"]
from ..text.terminal_text import one_line


def metadata_errors(nb: Any) -> list[str]:
    """Every place where ``nb``'s jupyter-agents metadata breaks the schemas; [] if none."""
    errors = []
    notebook_entry = nb.get("metadata", {}).get(METADATA_KEY)
    if notebook_entry is not None:
        for error in validator("notebook").iter_errors(notebook_entry):
            errors.append(f"notebook metadata at {_where(error)}: {one_line(error.message)}")
    for index, cell in enumerate(nb.get("cells", [])):
        entry = cell.get("metadata", {}).get(METADATA_KEY)
        if entry is None:
            continue
        for error in validator("cell").iter_errors(entry):
            errors.append(f"cell {index} metadata at {_where(error)}: {one_line(error.message)}")
    return errors


def _where(error: Any) -> str:
    return one_line("/".join(str(part) for part in error.absolute_path) or "(top)", 100)
