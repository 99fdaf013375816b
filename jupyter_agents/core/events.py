"""What happens in a run, as typed events: the loop emits them, the views subscribe.

The loop says what happened (a step started, text streamed in, a cell was proposed, a step
ended) and does not know who shows it: the approval widget, plain outputs, or nothing at all
(the Python API in a test). A new observer subscribes to :class:`RunEvents` instead of being
called by hand from the loop. The recorder is not a subscriber: the loop awaits it, because
it answers (a cell's id, the code as the user edited it).

Events about a step concern the step most recently started (:class:`StepStarted`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .result import RunResult
from .risk_flags import RiskFlag
from .steps import Step


@dataclass(frozen=True)
class StepStarted:
    number: int
    #: Shown instead of "Step N" (a crew role's step, the step limit's last call).
    title: str | None = None


@dataclass(frozen=True)
class TextStreamed:
    """A piece of the model's reply, as it arrives."""

    text: str


@dataclass(frozen=True)
class StreamRestarted:
    """The reply so far is dropped (a retry, a reply that gave no cell); ``note`` says why."""

    note: str


@dataclass(frozen=True)
class ProposalShown:
    thought: str
    code: str
    risks: tuple[RiskFlag, ...] = ()


@dataclass(frozen=True)
class RisksShown:
    """The review of a cell the user changed before it ran."""

    risks: tuple[RiskFlag, ...]


@dataclass(frozen=True)
class ReplyShown:
    """Text the model gave as its answer instead of a cell."""

    text: str


@dataclass(frozen=True)
class NoteShown:
    """A line about the current step, in the view's own note style unless ``style`` says."""

    text: str
    style: str | None = None


@dataclass(frozen=True)
class StepEnded:
    """The step was decided, and its cell ran (or did not): its outcome and the totals."""

    step: Step


@dataclass(frozen=True)
class Notice:
    """Something the person running the agent should know, outside any one step."""

    text: str


@dataclass(frozen=True)
class SectionStarted:
    """A crew role's turn begins, in its notebook section."""

    title: str
    role: str


@dataclass(frozen=True)
class WorkHandedOn:
    """A crew role passed the work on; ``text`` says to whom, with its note."""

    text: str


@dataclass(frozen=True)
class ModelReplied:
    """A model call completed: the messages sent and the reply (the run's transcript keeps it).

    ``step`` is the step the call was for; ``role`` the crew role that made it, if any.
    """

    model: str
    sent: list[dict[str, str]]
    reply: str
    step: int
    role: str | None = None


@dataclass(frozen=True)
class RunEnded:
    run: RunResult


RunEvent = (
    StepStarted
    | TextStreamed
    | StreamRestarted
    | ProposalShown
    | RisksShown
    | ReplyShown
    | NoteShown
    | StepEnded
    | Notice
    | SectionStarted
    | WorkHandedOn
    | ModelReplied
    | RunEnded
)


class RunEvents:
    """The run's subscribers, told of each event in the order they subscribed."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[RunEvent], None]] = []

    def subscribe(self, subscriber: Callable[[RunEvent], None]) -> None:
        self._subscribers.append(subscriber)

    def emit(self, event: RunEvent) -> None:
        for subscriber in self._subscribers:
            subscriber(event)
