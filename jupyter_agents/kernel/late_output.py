"""Output from threads an agent cell started, redacted and capped wherever it lands.

An agent cell may start a thread (a ``threading.Timer``, a pool, a library's worker) that
prints after the cell has ended. ipykernel sends what such a thread writes with the parent of
the cell running *then*: the user's next cell, which has no redaction and no cap. And while
the agent cell runs, displays from its threads pass ipykernel's display hooks by, because
those hooks are per thread.

So, from the first agent cell on, the kernel's ``sys.stdout``/``sys.stderr`` and its display
publisher keep a guard: text written or displayed by a thread an agent cell started (one that
was not alive when that cell began) is redacted, whole lines at a time, and capped at
``max_output_bytes`` per thread and stream, in whichever cell it shows up. The held end of an
unfinished line is sent when the next cell ends. Widgets made by agent cells are covered too
(:mod:`.widget_redaction`). Output is not moved back to the agent cell: ipykernel gives a
thread no parent of its own.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .output_hooks import patched
from .output_rules import OutputRules
from .widget_redaction import redact_widget_state

_guards: weakref.WeakKeyDictionary[Any, AgentThreads] = weakref.WeakKeyDictionary()


@contextmanager
def watch_agent_cell(shell: Any, rules: OutputRules) -> Iterator[None]:
    """Around one agent cell: the threads it starts are the agent's from now on."""
    guard = _guards.get(shell)
    if guard is None:
        guard = _guards[shell] = AgentThreads(shell)
    with guard.cell(rules):
        yield


class AgentThreads:
    """The threads agent cells started, and the guards on the kernel's outputs for them."""

    def __init__(self, shell: Any) -> None:
        self.threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        #: The rules of the latest agent cell: its threads' output keeps to them.
        self.rules = OutputRules(redact=str)
        self._alive_before: set[threading.Thread] | None = None  # while an agent cell runs
        self._writers: dict[tuple[int, str], Any] = {}  # stream stand-ins, per thread
        self._lock = threading.Lock()
        self._patches = ExitStack()  # kept for the kernel's life
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            self._patches.enter_context(patched(stream, "write", self._stream_guard(name)))
        publisher = getattr(shell, "display_pub", None)
        if publisher is not None and hasattr(publisher, "publish"):
            self._patches.enter_context(patched(publisher, "publish", self._display_guard))
        if hasattr(shell, "events"):
            shell.events.register("post_execute", self.flush)
        redact_widget_state(self)

    @contextmanager
    def cell(self, rules: OutputRules) -> Iterator[None]:
        self.rules = rules
        before = set(threading.enumerate())
        self._alive_before = before
        try:
            yield
        finally:
            self._alive_before = None
            self.threads.update(t for t in threading.enumerate() if t not in before)

    @property
    def in_agent_cell(self) -> bool:
        return self._alive_before is not None

    def is_agent_thread(self) -> bool:
        """Whether the calling thread was started by an agent cell."""
        thread = threading.current_thread()
        if thread is threading.main_thread():
            return False
        before = self._alive_before
        return thread in self.threads or (before is not None and thread not in before)

    def flush(self) -> None:
        """Send the held ends of unfinished lines (a cell has ended)."""
        with self._lock:
            writers = list(self._writers.values())
        for writer in writers:
            writer.flush()

    def _stream_guard(self, name: str) -> Callable[[Any], Any]:
        def guarding(write: Any) -> Any:
            def guarded(text: Any) -> Any:
                # While an agent cell runs, its own stream rules cover every thread.
                if self.in_agent_cell or not self.is_agent_thread():
                    return write(text)
                return self._writer(name, write).write(text)

            return guarded

        return guarding

    def _writer(self, name: str, write: Any) -> Any:
        key = (threading.get_ident(), name)
        with self._lock:
            writer = self._writers.get(key)
            if writer is None:
                writer = self._writers[key] = self.rules.stream(write, name)
            return writer

    def _display_guard(self, publish: Any) -> Any:
        def guarded(data: Any = None, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
            if self.is_agent_thread() and isinstance(data, dict):
                data = self.rules.bundle(data)
                metadata = self.rules.metadata(metadata)
            return publish(data, metadata, *args, **kwargs)

        return guarded
