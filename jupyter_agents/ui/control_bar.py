"""The run's one row of buttons: Approve, Edit, Reject with a reason, Approve all, Stop.

One bar serves every step: it moves under the step that waits for a decision, so a run of
twenty steps has one set of button models, not twenty.
"""

from __future__ import annotations

import ipywidgets as widgets


class ControlBar:
    """The run's buttons. One set for the whole run, enabled while a decision is pending.

    Decision buttons are created disabled: a button created enabled and disabled a moment
    later can be clicked in between, and that click would be silently lost.
    """

    def __init__(self, approval: bool, crew: bool = False) -> None:
        self.approve = widgets.Button(
            description="Approve",
            button_style="success",
            icon="check",
            disabled=True,
            tooltip="Run this cell (the edited code, if you edited it)",
        )
        self.edit = widgets.Button(
            description="Edit", icon="pencil", disabled=True, tooltip="Edit before running"
        )
        self.reject = widgets.Button(
            description="Reject",
            button_style="warning",
            icon="times",
            disabled=True,
            tooltip="Don't run it; the reason goes back to the model",
        )
        self.reason = widgets.Text(
            placeholder="Reason (optional, sent to the model)",
            disabled=True,
            layout=widgets.Layout(width="auto", flex="1 1 12em"),
        )
        self.approve_all = widgets.Button(
            description="Approve all",
            icon="forward",
            disabled=True,
            tooltip="Run this cell and every later cell of this run without asking",
        )
        self.stop = widgets.Button(
            description="Stop", button_style="danger", icon="stop", tooltip="End the run now"
        )
        self.approve_crew = widgets.Button(
            description="Approve crew",
            icon="forward",
            disabled=True,
            tooltip="Run this cell and every later cell of every role without asking",
        )
        self.decision_buttons = [self.approve, self.edit, self.reject, self.approve_all]
        if crew:
            self.approve_all.tooltip = "Run this cell and this role's later cells without asking"
            self.decision_buttons.append(self.approve_crew)
        for button in (*self.decision_buttons, self.stop):
            button.layout.width = "auto"  # ipywidgets' fixed default width wraps the bar
        children = [*self.decision_buttons[:3], self.reason, *self.decision_buttons[3:], self.stop]
        if not approval:
            children = [self.stop]
        self.box = widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap"))

    def set_pending(self, pending: bool) -> None:
        for button in self.decision_buttons:
            button.disabled = not pending
        self.reason.disabled = not pending

    def close(self) -> None:
        self.box.layout.display = "none"
        for child in (*self.decision_buttons, self.approve_crew, self.reason, self.stop):
            child.disabled = True
            child.close()
        self.box.close()
