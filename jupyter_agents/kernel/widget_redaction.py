"""Widget state that agent cells create, redacted before it leaves the kernel.

An ipywidget's state (a ``Label``'s or ``Text``'s ``value``) goes to the frontend in comm
messages, and from there into the saved notebook's ``metadata.widgets`` (JupyterLab's "save
widget state", nbclient's ``store_widget_state`` in headless runs). Every such message is
built by ``Widget.get_state``. So that method is wrapped once: the state of a widget made by
an agent cell, or sent while an agent cell runs or from a thread it started, has its strings
redacted. Binary buffers are left alone, as images are.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .output_redaction import redacted_json

if TYPE_CHECKING:
    from .late_output import AgentThreads

_watchers: list[AgentThreads] = []


def redact_widget_state(threads: AgentThreads) -> None:
    """Redact the state of the widgets agent cells make, as ``threads`` knows them."""
    try:
        from ipywidgets import Widget
    except ImportError:  # no widgets, no widget state
        return
    _watchers.append(threads)
    if getattr(Widget.get_state, "_jupyter_agents", False):
        return
    original = Widget.get_state
    agents_widgets: weakref.WeakSet[Any] = weakref.WeakSet()

    def get_state(self: Any, key: Any = None, drop_defaults: bool = False) -> Any:
        state = original(self, key=key, drop_defaults=drop_defaults)
        for watcher in _watchers:
            if watcher.in_agent_cell or watcher.is_agent_thread():
                agents_widgets.add(self)
            if self in agents_widgets:
                return redacted_json(state, watcher.rules.redact or str)
        return state

    get_state._jupyter_agents = True  # type: ignore[attr-defined]
    Widget.get_state = get_state  # type: ignore[method-assign]
