"""What a :class:`~jupyter_agents.notebook.recorder.NotebookRecorder` is given besides its
bridge: the prompt cell it records under, and whom to tell what the notebook says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..safety.approval import ApprovalDecision


@dataclass(frozen=True)
class PromptCell:
    """The ``%agent`` cell the run belongs to: its notebook cell id and its execute request."""

    cell_id: str
    msg_id: str


@dataclass(frozen=True)
class NotebookListener:
    """What the notebook tells the run while it records: a decision made on the pending
    cell's toolbar, the pending cell queued to run, or the frontend gone (one line)."""

    on_decision: Callable[[ApprovalDecision], None] | None = None
    on_queued: Callable[[str], None] | None = None
    on_lost: Callable[[str], None] | None = None
