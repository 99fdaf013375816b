"""The approval gate: nothing the model writes runs until a human (or the chosen policy) says so.

Approved code runs with the kernel's full rights, so this gate is the security boundary. It is
deliberately small: a request goes out, a decision comes back, and the policy only changes
when the user says so ("Approve all"). The ``risky`` policy leans on the static risk review
(:mod:`jupyter_agents.safety.risk`): a cell with no flag runs, a cell with a flag goes to a human.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..core.risk_flags import RiskFlag
from ..core.steps import StepStatus

#: ``each``: a human decides every cell. ``auto``: none. ``risky``: only cells with risk flags.
POLICIES = ("each", "auto", "risky")


class Verdict(str, Enum):
    APPROVE = "approve"
    REJECT = "reject"
    #: Nobody can approve it (``risky`` without a person): not run, and the model is told.
    REFUSE = "refuse"
    STOP = "stop"


@dataclass(frozen=True)
class ApprovalRequest:
    """A proposed cell waiting for a decision."""

    step: int
    code: str
    thought: str = ""
    #: What the risk review found in ``code`` (shown to the human, never to the model).
    risks: tuple[RiskFlag, ...] = ()


@dataclass(frozen=True)
class ApprovalDecision:
    """The answer to an :class:`ApprovalRequest`.

    ``code`` is what will run: the proposal, or the human's edit of it. ``approve_rest`` is
    "Approve all": this cell and every later one in the run.
    """

    verdict: Verdict
    code: str | None = None
    reason: str | None = None
    approve_rest: bool = False
    #: With ``approve_rest``: "turn" (this agent or role) or "crew" (every role to come).
    scope: str = "turn"

    @classmethod
    def approve(
        cls, code: str, approve_rest: bool = False, scope: str = "turn"
    ) -> ApprovalDecision:
        return cls(Verdict.APPROVE, code=code, approve_rest=approve_rest, scope=scope)

    @classmethod
    def reject(cls, reason: str | None = None) -> ApprovalDecision:
        return cls(Verdict.REJECT, reason=(reason or "").strip() or None)

    @classmethod
    def refuse(cls) -> ApprovalDecision:
        return cls(Verdict.REFUSE, reason=UNATTENDED_REASON)

    @classmethod
    def stop(cls) -> ApprovalDecision:
        return cls(Verdict.STOP)


Asker = Callable[[ApprovalRequest], Awaitable[ApprovalDecision]]

UNATTENDED_REASON = "it has risk flags, and nobody can approve it in this run"


async def refuse_unattended(request: ApprovalRequest) -> ApprovalDecision:
    """The asker where nobody can answer (``--approve risky`` headless): a flagged cell is
    refused, so batch runs go on with what needs no approval."""
    return ApprovalDecision.refuse()


class ApprovalGate:
    """Applies the approval policy: ``each`` asks a human, ``auto`` approves without asking,
    ``risky`` asks only about cells the risk review flagged."""

    def __init__(self, policy: str, ask: Asker | None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown approval policy {policy!r}")
        if policy != "auto" and ask is None:
            raise ValueError(f"policy {policy!r} needs a way to ask a human")
        self.policy = policy
        self._ask = ask
        #: Nobody answers: a cell that would need a person is refused (:func:`refuse_unattended`).
        self.unattended = ask is refuse_unattended
        #: The human chose "Approve crew": later roles' gates start in auto.
        self.crew_approved = False

    def asks(self, risks: Sequence[RiskFlag]) -> bool:
        """Whether a cell with these risk flags goes to a human under the current policy."""
        return self.policy == "each" or (self.policy == "risky" and bool(risks))

    async def decide(self, request: ApprovalRequest) -> tuple[ApprovalDecision, bool]:
        """The decision, and whether the policy made it (True) rather than a human."""
        if not self.asks(request.risks):
            return ApprovalDecision.approve(request.code), True
        assert self._ask is not None
        decision = await self._ask(request)
        if decision.verdict is Verdict.APPROVE and decision.approve_rest:
            self.policy = "auto"
            self.crew_approved = decision.scope == "crew"
        return decision, False


def step_status(decision: ApprovalDecision, by_policy: bool, proposed: str, ran: str) -> StepStatus:
    """How a step is recorded: rejected, auto, edited (what ran differs) or approved."""
    if decision.verdict is Verdict.REJECT:
        return StepStatus.REJECTED
    if decision.verdict is Verdict.REFUSE:
        return StepStatus.REFUSED
    if by_policy:
        return StepStatus.AUTO
    return StepStatus.EDITED if ran.strip() != proposed.strip() else StepStatus.APPROVED


#: Shown while a cell runs. A click on Stop reaches the kernel only when the cell awaits or
#: ends (a cell busy in Python holds the kernel's event loop); the kernel's interrupt button
#: raises KeyboardInterrupt in the cell itself.
STOP_HINT = (
    "Stop ends the run when this cell ends (or awaits); "
    "the kernel's interrupt button (■) cuts the cell short."
)
RUNNING_NOTE = f"Running. {STOP_HINT}"


def decision_note(gate: ApprovalGate, risks: Sequence[RiskFlag]) -> str:
    """What happens next to a proposal, as the step says while it waits or runs."""
    if gate.asks(tuple(risks)):
        if gate.policy == "risky" and gate.unattended:
            return "It has risk flags and nobody can approve it here: it is not run (refused)."
        if gate.policy == "risky":
            return "It has risk flags, so it waits for your decision (--approve risky)."
        return "Waiting for your decision."
    if gate.policy == "risky":
        return f"No risk flags: approved automatically (--approve risky); running. {STOP_HINT}"
    return f"Approved automatically (--approve auto); running. {STOP_HINT}"
