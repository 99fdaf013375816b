"""A real IPython kernel (jupyter_client), driven the way a notebook frontend drives it.

The harness sends execute requests, reads every iopub message, and keeps what a browser's
widget manager would keep: the state of each widget model (from ``comm_open`` and ``update``
messages). It can click a Button or type into a Textarea by sending exactly the ``comm_msg``
a browser sends. With ``widget_frontend=True`` it also does the two things a browser's widget
manager does on its own: link models copy their source value to their target, and Output
widgets capture the outputs of the message they are bound to (``msg_id``). With
``widget_frontend=False`` it behaves like plain nbclient: it never answers a widget.
"""

from __future__ import annotations

import os
import queue
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager

from jupyter_agents.notebook import protocol
from jupyter_agents.notebook.frontend import NotebookFrontend

WIDGET_TARGET = "jupyter.widget"
LINK_MODELS = {"LinkModel", "DirectionalLinkModel"}


@dataclass
class WidgetModel:
    comm_id: str
    model_name: str
    state: dict[str, Any]
    closed: bool = False
    #: Every state update the kernel sent, in order (to see streaming, for instance).
    updates: list[dict[str, Any]] = field(default_factory=list)
    #: Outputs an OutputModel captured while its msg_id was set (browser emulation).
    captured: list[dict[str, Any]] = field(default_factory=list)

    def get(self, name: str, default: Any = None) -> Any:
        return self.state.get(name, default)


@dataclass
class CellRun:
    """One execute request and everything it produced."""

    code: str
    msg_id: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] | None = None
    idle: bool = False

    @property
    def done(self) -> bool:
        return self.idle and self.reply is not None

    @property
    def status(self) -> str | None:
        return None if self.reply is None else self.reply["status"]

    @property
    def stdout(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stderr")

    @property
    def result(self) -> str | None:
        for output in self.outputs:
            if output["output_type"] == "execute_result":
                return output["data"].get("text/plain")
        return None

    @property
    def error(self) -> dict[str, Any] | None:
        return next((o for o in self.outputs if o["output_type"] == "error"), None)

    @property
    def error_text(self) -> str:
        error = self.error
        return "" if error is None else "\n".join(error["traceback"])


#: Buttons that stay enabled while a decision is made: Stop, and ended runs' Undo run.
NOT_DECISIONS = ("Stop", "Undo run", "Undo now")


class KernelHarness:
    def __init__(
        self,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        widget_frontend: bool = True,
        notebook: NotebookFrontend | None = None,
    ) -> None:
        self.widget_frontend = widget_frontend
        #: Links the kernel opens wait here instead of being answered (a frontend slow to load
        #: its widgets) until :meth:`release_links`.
        self.held_links: list[WidgetModel] | None = None
        #: Speaks the notebook protocol like the JupyterLab extension, when given.
        self.notebook = notebook
        self.widgets: dict[str, WidgetModel] = {}
        self.runs: dict[str, CellRun] = {}
        self.manager = KernelManager(kernel_name="python3")
        # ``env`` is the kernel's whole environment when given (tests need to remove variables).
        self.manager.start_kernel(env=dict(os.environ if env is None else env), cwd=cwd)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    # -- lifecycle ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()

    # -- executing ---------------------------------------------------------------------------

    def start(self, code: str, cell_id: str | None = None) -> CellRun:
        """Send an execute request; with ``cell_id``, as JupyterLab does for a notebook cell."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        message = self.client.session.msg("execute_request", content, metadata=metadata)
        self.client.shell_channel.send(message)
        msg_id = message["header"]["msg_id"]
        run = self.runs[msg_id] = CellRun(code, msg_id)
        return run

    def execute(self, code: str, timeout: float = 60, cell_id: str | None = None) -> CellRun:
        run = self.start(code, cell_id)
        self.wait_for(lambda: run.done, timeout, f"cell to finish: {code[:80]!r}", run)
        return run

    def wait_done(self, run: CellRun, timeout: float = 60) -> CellRun:
        self.wait_for(lambda: run.done, timeout, f"cell to finish: {run.code[:80]!r}", run)
        return run

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float,
        what: str = "condition",
        run: CellRun | None = None,
    ) -> Any:
        """Pump messages until ``predicate()`` is truthy; fail with context after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                detail = "" if run is None else f"\noutputs so far: {run.outputs!r}"
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}{detail}\n{self._screen()}"
                )
            self.pump(0.05)

    def pump(self, timeout: float = 0.05) -> None:
        """Handle every message that is waiting (iopub and shell replies)."""
        try:
            message = self.client.get_iopub_msg(timeout=timeout)
            self._on_iopub(message)
            while True:
                self._on_iopub(self.client.get_iopub_msg(timeout=0))
        except queue.Empty:
            pass
        try:
            while True:
                reply = self.client.get_shell_msg(timeout=0)
                run = self.runs.get(reply["parent_header"].get("msg_id"))
                if run is not None and reply["msg_type"] == "execute_reply":
                    run.reply = reply["content"]
        except queue.Empty:
            pass

    # -- widgets, as a browser sees them -------------------------------------------------------

    def find_widgets(self, model_name: str, **state: Any) -> list[WidgetModel]:
        return [
            widget
            for widget in self.widgets.values()
            if not widget.closed
            and widget.model_name == model_name
            and all(widget.get(key) == value for key, value in state.items())
        ]

    def widget(self, model_name: str, timeout: float = 10, **state: Any) -> WidgetModel:
        """Wait for an open widget of this model with this state; the most recent wins."""
        return self.wait_for(
            lambda: (self.find_widgets(model_name, **state) or [None])[-1],
            timeout,
            f"a {model_name} with {state}",
        )

    def button(self, description: str, timeout: float = 30, enabled: bool = True) -> WidgetModel:
        """The most recent open Button with this label (waiting for it, enabled by default)."""

        def find() -> WidgetModel | None:
            found = [
                widget
                for widget in self.find_widgets("ButtonModel", description=description)
                if not enabled or not widget.get("disabled")
            ]
            return found[-1] if found else None

        return self.wait_for(find, timeout, f"an enabled {description!r} button")

    def click(self, description: str, timeout: float = 30, acknowledged: bool = True) -> None:
        """Click the enabled button labelled ``description``, as a browser does.

        With ``acknowledged`` (decision buttons), wait until the kernel disables or closes the
        button: a person cannot click again before the widget has updated either.
        """
        button = self.button(description, timeout)
        # Every decision button goes disabled together; wait for all of them, or a quick next
        # click could find a sibling whose "disabled" update has not been processed yet.
        enabled = [
            (other, len(other.updates))
            for other in self.find_widgets("ButtonModel")
            if not other.get("disabled") and other.get("description") not in NOT_DECISIONS
        ]
        self.send_comm(button.comm_id, {"method": "custom", "content": {"event": "click"}})
        if acknowledged:
            self.wait_for(
                lambda: all(
                    other.closed or any(update.get("disabled") for update in other.updates[seen:])
                    for other, seen in enabled
                ),
                timeout,
                f"the kernel to acknowledge the click on {description!r}",
            )

    def set_state(self, widget: WidgetModel, **state: Any) -> None:
        """Change widget state from the 'browser' (what typing into a widget sends)."""
        widget.state.update(state)
        self.send_comm(widget.comm_id, {"method": "update", "state": state, "buffer_paths": []})

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        self._send_shell("comm_msg", {"comm_id": comm_id, "data": data})

    def _close_comm(self, comm_id: str) -> None:
        self._send_shell("comm_close", {"comm_id": comm_id, "data": {}})

    def _send_shell(self, msg_type: str, content: dict[str, Any]) -> None:
        self.client.shell_channel.send(self.client.session.msg(msg_type, content))

    def _screen(self) -> str:
        """What a person would see when a wait fails: enabled buttons, the latest widget text."""
        enabled = [
            str(w.get("description"))
            for w in self.find_widgets("ButtonModel")
            if not w.get("disabled")
        ]
        text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", self.html_text(), flags=re.DOTALL)
        return f"enabled buttons: {enabled}; widget text (end): {' '.join(text.split())[-1200:]!r}"

    def html_text(self) -> str:
        """All open HTML widget values joined: what the widget area shows, roughly."""
        return "\n".join(str(w.get("value", "")) for w in self.find_widgets("HTMLModel"))

    # -- message handling ------------------------------------------------------------------------

    def _on_iopub(self, message: dict[str, Any]) -> None:
        kind = message["msg_type"]
        content = message["content"]
        parent = message["parent_header"].get("msg_id")
        if self.notebook is not None and self.notebook.take(message, self.send_comm):
            return
        if kind == "comm_open" and content.get("target_name") == protocol.COMM_TARGET:
            self._close_comm(content["comm_id"])  # as JupyterLab closes a target it lacks
            return
        if kind == "comm_open" and content.get("target_name") == WIDGET_TARGET:
            state = dict(content["data"].get("state", {}))
            widget = WidgetModel(content["comm_id"], state.get("_model_name", ""), state)
            self.widgets[widget.comm_id] = widget
            if self.widget_frontend and widget.model_name in LINK_MODELS:
                if self.held_links is not None:
                    self.held_links.append(widget)
                else:
                    self._run_link(widget)
            return
        if kind == "comm_msg":
            widget = self.widgets.get(content["comm_id"])
            data = content.get("data", {})
            if widget is not None and data.get("method") in ("update", "echo_update"):
                widget.state.update(data.get("state", {}))
                widget.updates.append(data.get("state", {}))
            return
        if kind == "comm_close":
            widget = self.widgets.get(content["comm_id"])
            if widget is not None:
                widget.closed = True
            return
        output = _as_output(kind, content)
        if output is None:
            if kind == "status" and content["execution_state"] == "idle" and parent in self.runs:
                self.runs[parent].idle = True
            if kind == "clear_output" and parent in self.runs:
                self.runs[parent].outputs.clear()
            return
        capturing = self._capturing_output_widget(parent)
        if capturing is not None:
            capturing.captured.append(output)
        elif parent in self.runs:
            self.runs[parent].outputs.append(output)

    def _capturing_output_widget(self, parent: str | None) -> WidgetModel | None:
        if not self.widget_frontend or not parent:
            return None
        capturing = [w for w in self.find_widgets("OutputModel") if w.get("msg_id") == parent]
        return capturing[-1] if capturing else None

    def release_links(self) -> None:
        """Answer the held links, as a frontend does once its widgets have loaded."""
        held, self.held_links = self.held_links or [], None
        for link in held:
            self._run_link(link)

    def _run_link(self, link: WidgetModel) -> None:
        """What a browser's LinkModel does when created: copy source value into target."""
        source_ref, source_attr = link.get("source")
        target_ref, target_attr = link.get("target")
        source = self.widgets.get(source_ref.removeprefix("IPY_MODEL_"))
        target = self.widgets.get(target_ref.removeprefix("IPY_MODEL_"))
        if source is not None and target is not None:
            self.set_state(target, **{target_attr: source.get(source_attr)})


def _as_output(kind: str, content: dict[str, Any]) -> dict[str, Any] | None:
    """iopub message -> nbformat-shaped output (or None if it isn't an output)."""
    if kind == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if kind in ("display_data", "execute_result"):
        output = {
            "output_type": kind,
            "data": content["data"],
            "metadata": content.get("metadata", {}),
        }
        if kind == "execute_result":
            output["execution_count"] = content.get("execution_count")
        return output
    if kind == "error":
        return {
            "output_type": "error",
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": content["traceback"],
        }
    return None


@contextmanager
def attached_notebook(kernel: KernelHarness, cells: list[Any]) -> Iterator[NotebookFrontend]:
    """A notebook of ``cells`` (nbformat cells) whose frontend answers ``kernel``'s protocol,
    as JupyterLab with the extension does; detached again afterwards."""
    document = nbformat.v4.new_notebook()
    document.cells = list(cells)
    frontend = NotebookFrontend(document, client="test-lab")
    kernel.notebook = frontend
    try:
        yield frontend
    finally:
        kernel.notebook = None
