"""What the model is told at the start of a run: the system prompt and the task message.

The task message carries a snapshot of the live kernel (variables, recent cells) so the model
builds on what the user already has. Every part is bounded, so a long-lived kernel with big
data does not blow up the prompt.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import prompts
from .kernel_state import summarize_namespace

MAX_CELL_LINES = 20
MAX_CELL_CHARS = 800


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
) -> str:
    """The first user message: the task, the kernel's variables and the user's recent cells."""
    return prompts.render(
        "task",
        task=task.strip(),
        state=summarize_namespace(namespace, hidden),
        history=format_cells(recent_cells),
    ).strip()


def recent_user_cells(history: Sequence[str], count: int) -> list[str]:
    """The last ``count`` non-empty cells before the one that is running now."""
    if count <= 0:
        return []
    earlier = [cell for cell in history[:-1] if cell.strip()]
    return earlier[-count:]


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
