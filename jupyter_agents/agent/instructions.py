"""What the model is told at the start of a run: the system prompt and the task message.

The task message carries a snapshot of the live kernel (variables, recent cells) so the model
builds on what the user already has. Every part is bounded, so a long-lived kernel with big
data does not blow up the prompt.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import prompts
from ..kernel.namespace_summary import summarize_namespace

MAX_CELL_LINES = 20
MAX_CELL_CHARS = 800
MAX_NOTEBOOK_CELLS = 10
#: Cells below the ``%agent`` cell shown to the model.
MAX_CELLS_BELOW = 3


def system_prompt(tools: Sequence[Callable[..., Any]] = ()) -> str:
    """The system prompt, with a section describing the user's tool functions if any."""
    tools_text = prompts.render("tools", functions=describe_tools(tools)) if tools else ""
    return prompts.render("system", tools=tools_text).strip()


def describe_tools(tools: Sequence[Callable[..., Any]]) -> str:
    lines = []
    for tool in tools:
        try:
            signature = str(inspect.signature(tool))
        except (TypeError, ValueError):
            signature = "(...)"
        doc = inspect.getdoc(tool) or "(no docstring)"
        lines.append(f"- {tool.__name__}{signature}: {' '.join(doc.split())[:300]}")
    return "\n".join(lines)


def task_message(
    task: str,
    namespace: Mapping[str, Any],
    hidden: Sequence[str],
    recent_cells: Sequence[str],
    notebook_cells: Sequence[Mapping[str, Any]] | None = None,
    cells_below: Sequence[Mapping[str, Any]] = (),
    redact: Callable[[str], str] = lambda text: text,
    section: str | None = None,
) -> str:
    """The first user message: the task, the kernel's variables, and what came before.

    "What came before" is the notebook's cells above the ``%agent`` cell when the frontend can
    tell (markdown included: it often states the goal), else the user's recent cells from the
    kernel's history. The first few cells below it, if any, follow: they show what the user
    means to do with the agent's work.
    """
    if section is not None:
        recent = (
            f'You work in the notebook section "{section}": your cells go at its end. '
            "Its cells so far (oldest first):\n" + format_notebook(notebook_cells or [])
        )
    elif notebook_cells is not None:
        recent = "Notebook cells above this one (oldest first):\n" + format_notebook(notebook_cells)
        below = [cell for cell in cells_below if str(cell.get("source", "")).strip()]
        if below:
            recent += (
                "\n\nNotebook cells below this one (they run after your cells):\n"
                + format_notebook(below[:MAX_CELLS_BELOW])
            )
    else:
        recent = "Recent cells the user ran:\n" + format_cells(recent_cells)
    return prompts.render(
        "task",
        task=task.strip(),
        state=summarize_namespace(namespace, hidden, redact=redact),
        recent=redact(recent),
    ).strip()


def recent_user_cells(history: Sequence[str], count: int) -> list[str]:
    """The last ``count`` non-empty cells before the one that is running now."""
    if count <= 0:
        return []
    earlier = [cell for cell in history[:-1] if cell.strip()]
    return earlier[-count:]


def format_notebook(cells: Sequence[Mapping[str, Any]], count: int = MAX_NOTEBOOK_CELLS) -> str:
    """The last ``count`` non-empty cells: markdown as text, code fenced."""
    shown = [cell for cell in cells if str(cell.get("source", "")).strip()][-count:]
    if not shown:
        return "(none)"
    parts = []
    for cell in shown:
        source = _clip_cell(str(cell["source"]))
        parts.append(source if cell.get("cell_type") == "markdown" else f"```python\n{source}\n```")
    return "\n\n".join(parts)


def format_cells(cells: Sequence[str]) -> str:
    if not cells:
        return "(none)"
    return "\n".join(f"```python\n{_clip_cell(cell)}\n```" for cell in cells)


def _clip_cell(cell: str) -> str:
    lines = cell.strip().splitlines()
    if len(lines) > MAX_CELL_LINES:
        lines = lines[:MAX_CELL_LINES] + [f"# ... {len(lines) - MAX_CELL_LINES} more lines"]
    text = "\n".join(lines)
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "\n# ... (cell cut)"
    return text
