"""What undoing a run did (or, in a dry run, would do), as ``%agent_undo`` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .risk_flags import Category
from .steps import Step

#: What the cells did outside the namespace that no undo can take back, by risk category.
_NOT_UNDONE = {
    Category.DELETE_FILES: "files deleted",
    Category.OVERWRITE_FILES: "files written",
    Category.OUTSIDE_DIR: "files outside the working directory",
    Category.SHELL: "shell commands",
    Category.NETWORK: "network calls",
    Category.INSTALL: "packages installed",
    Category.PROCESSES: "processes started or killed",
    Category.DYNAMIC_CODE: "code run through exec/eval (its effects are not seen)",
}

#: Always true of an undo, said once: the syntax tree shows only the names a cell uses.
UNSEEN = (
    "changes made through names the cells did not write (a function's globals, an object held "
    "inside another) are not seen and not undone"
)
#: The risk review flags overwrites and deletions; a new file is not flagged, and stays too.
NEW_FILES = "new files the cells created stay (only overwrites and deletions are listed above)"


def side_effects(steps: list[Step]) -> list[str]:
    """What the cells that ran did outside the kernel, from their risk flags: never undone."""
    lines = []
    for step in steps:
        if step.code_run is None:
            continue
        for flag in step.risks:
            kind = _NOT_UNDONE.get(flag.category)
            if kind is not None:
                lines.append(f"{kind}: step {step.number}, {flag}")
    return lines


@dataclass
class UndoReport:
    """The lists an undo shows: what is put back, and what cannot be."""

    run_id: str
    dry_run: bool
    undone: list[str] = field(default_factory=list)
    not_undone: list[str] = field(default_factory=list)
    #: The run wrote its cells into the notebook: an undo removes them.
    cells_in_notebook: bool = False
    cells_removed: int = 0

    def done_lines(self) -> list[str]:
        """What the undo puts back (or would), as ``%agent_undo`` and the widget list it."""
        lines = list(self.undone) or ["nothing in the namespace"]
        if self.dry_run and self.cells_in_notebook:
            lines.append("remove the run's cells from the notebook")
        elif self.cells_removed:
            lines.append(f"{self.cells_removed} cell(s) removed from the notebook")
        return lines

    def __str__(self) -> str:
        head = f"Undo of run {self.run_id} would:" if self.dry_run else f"Undid run {self.run_id}:"
        lines = [head, *(f"  - {line}" for line in self.done_lines()), "Cannot be undone:"]
        lines += [f"  - {line}" for line in self.not_undone]
        if self.dry_run:
            lines.append("Nothing was changed (dry run). Run %agent_undo to undo it.")
        return "\n".join(lines)
