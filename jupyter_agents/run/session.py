"""Per-kernel state: the settings in force, the run in progress, the last run.

One run at a time per kernel: two runs would interleave cells in one namespace and fight over
the approval widget, so a second run is refused with an explanation instead.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.errors import InvalidOption, RunAlreadyActive
from ..core.result import RunResult
from ..kernel.output_pipeline import CellOutputRules
from ..kernel.turn_end import final_answer, handoff
from ..safety.queued_proposals import QueuedProposals
from ..text.clipping import squeezed
from .config import SettingsStore
from .undo import UndoStack

_sessions: weakref.WeakKeyDictionary[Any, KernelSession] = weakref.WeakKeyDictionary()


class KernelSession:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.settings = SettingsStore(getattr(shell, "config", None))
        self.active: RunResult | None = None
        self.last: RunResult | None = None
        #: Output rules for recorded agent cells and the prompt cell (None: a shell without
        #: IPython's events, as in some embedding).
        self.output_rules = CellOutputRules(shell) if hasattr(shell, "events") else None
        #: Pending cells the user ran themselves: their queued request must not run them.
        self.queued_proposals = QueuedProposals(shell)
        #: The runs that can still be undone, newest last.
        self.undo = UndoStack()
        if self.shell.user_ns.get("final_answer", final_answer) is final_answer:
            self.install_final_answer()
        else:
            print(
                "jupyter-agents: your namespace already has a `final_answer`; agent runs need "
                "that name, so rename yours before using %agent.",
                file=sys.stderr,
            )

    @classmethod
    def for_shell(cls, shell: Any) -> KernelSession:
        session = _sessions.get(shell)
        if session is None:
            session = _sessions[shell] = cls(shell)
        return session

    def install_final_answer(self) -> None:
        """Put ``final_answer`` and ``handoff`` in the user namespace, hidden from ``%who``.

        They stay there after runs: recorded agent cells call them, and re-running them
        without a model must work.
        """
        hidden = getattr(self.shell, "user_ns_hidden", None)
        for name, function in (("final_answer", final_answer), ("handoff", handoff)):
            if self.shell.user_ns.get(name, function) is not function:
                continue  # the user's own object: require_final_answer explains, if needed
            self.shell.user_ns[name] = function
            if isinstance(hidden, dict):
                hidden[name] = function

    def require_final_answer(self, crew: bool = False) -> None:
        """Make sure generated code can call ``final_answer`` (and ``handoff`` in a crew).

        A user's own object under either name is never replaced: the run is refused with a
        line saying how to free the name.
        """
        needed = [("final_answer", final_answer)] + ([("handoff", handoff)] if crew else [])
        for name, function in needed:
            existing = self.shell.user_ns.get(name, function)
            if existing is not function:
                raise InvalidOption(
                    f"`{name}` in your namespace is a {type(existing).__name__}, but the "
                    f"agent needs that name to end its turns. Rename yours (e.g. "
                    f"`my_{name} = {name}; del {name}`) and run again."
                )
        self.install_final_answer()

    @contextmanager
    def claim(self, run: RunResult) -> Iterator[RunResult]:
        if self.active is not None:
            active = self.active
            raise RunAlreadyActive(
                f"another agent run is active in this kernel (task {squeezed(active.task, 60)!r}, "
                f"step {len(active.steps) + 1}). Wait for it to finish, or end it with its Stop "
                "button or the kernel's interrupt button."
            )
        self.active = run
        try:
            yield run
        finally:
            self.active = None
            self.last = run


def forget_session(shell: Any) -> None:
    """``%unload_ext``: the kernel's session goes, and with it its output rules."""
    session = _sessions.pop(shell, None)
    if session is None:
        return
    session.queued_proposals.close()
    if session.output_rules is not None:
        session.output_rules.close()
