"""Catching a model that proposes the same cell again.

Real models repeat themselves (seen: the same failing cell four times in a row, and a failing
cell, an install, the same cell, three times over). Running it again gives the same outcome,
costs a step and, with a person approving, their time. A repeat is not asked about and does
not run; the model is told which earlier cell it repeats and what that cell did.

Running a cell again *after something else changed* can be right (an import that fails, an
install, the import again), so a cell repeats only when it is the same as the cell just
before it (unless that cell's typed-in final answer was turned back, see :mod:`.answer_check`:
the same cell again confirms it), or when the same code already ran twice in this run.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import prompts
from ..core.steps import Step, StepStatus


def normalized(code: str) -> str:
    """The code without trailing spaces and blank lines: what does not change what runs."""
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def repeated_step(code: str, steps: Sequence[Step]) -> Step | None:
    """The earlier step that ``code`` repeats, if running it would be a repeat."""
    if not steps:
        return None
    wanted = normalized(code)
    last = steps[-1]
    # A final answer turned back for checking may be confirmed by giving it again.
    if not last.answer_turned_back and normalized(last.code_run or last.proposed_code) == wanted:
        return last
    ran = [step for step in steps if step.code_run is not None]
    same = [step for step in ran if normalized(step.code_run or "") == wanted]
    return same[-1] if len(same) >= 2 else None


def repeat_correction(step: Step) -> str:
    """What the model is told instead of running its repeated cell."""
    if step.status is StepStatus.REJECTED:
        outcome = "the human rejected"
    elif step.error:
        outcome = f"failed with {step.error}"
    else:
        outcome = "ran without an error"
    return prompts.render("repeated", step=step.number, outcome=outcome).strip()
