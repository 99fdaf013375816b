"""A cell's outputs, one chain defined once: captured for the model, then limits and redaction.

Every output an agent cell makes passes the same links, in this order:

1. **Capture for the model** (:class:`ModelCapture`): what it prints is teed into bounded
   buffers and its displays are described, before anything is cut or redacted (the loop
   redacts what the model is told, with the same redactor).
2. **Limits** (``max_output_bytes``, :mod:`.output_limits`) and **redaction** (the run's
   redactor, :mod:`.output_redaction`), as :class:`OutputRules` joins them for each kind of
   output. Streams and errors are redacted whole, then cut: a cut could split a secret past
   recognition, and a stream is redacted line by line anyway. Displays and results are cut
   first (leaving out the word the cut goes through, which could be half a key), then
   redacted: a multi-megabyte bundle is not worth redacting whole only to be replaced by its
   head.

The same rules apply wherever an agent cell's output can show up: in the cell while it runs
(:func:`agent_cell_outputs`), from threads it started, after it ended
(:mod:`.late_output`), and when a recorded agent cell runs again as ordinary code (Run All,
``jupyter agents replay``: :class:`CellOutputRules`), so a replay shows what was recorded.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from ..core.observation import HeadTailBuffer
from ..text.clipping import squeezed
from .late_output import watch_agent_cell
from .output_hooks import filtered_displays, filtered_errors, wrapped_streams
from .output_redaction import Redact
from .output_rules import OutputRules

MAX_DISPLAY_TEXT = 200
#: Displays described to the model per cell; beyond that they are only counted.
MAX_DISPLAYS_KEPT = 20


@contextmanager
def leaving_kernel(shell: Any, rules: OutputRules) -> Iterator[None]:
    """Apply ``rules`` to every output published while inside: streams, displays, errors."""
    if not rules.changes_anything:
        yield
        return
    streams: list[Any] = []

    def wrap(write: Any, name: str) -> Any:
        stream = rules.stream(write, name)
        streams.append(stream)
        return stream.write

    with (
        wrapped_streams(wrap),
        filtered_displays(shell, rules.bundle, rules.metadata),
        filtered_errors(shell, rules.error),
    ):
        try:
            yield
        finally:
            for stream in streams:
                stream.flush()


def redact_outputs(shell: Any, redact: Redact) -> Any:
    """Redact every text output published while inside (the prompt cell's own outputs)."""
    return leaving_kernel(shell, OutputRules(redact=redact))


class ModelCapture:
    """What one cell printed and displayed, bounded, for the model."""

    def __init__(self, max_chars: int) -> None:
        self.stdout = HeadTailBuffer(max_chars)
        self.stderr = HeadTailBuffer(max_chars)
        self.displays: list[str] = []
        self.more_displays = 0

    def add_display(self, data: dict[str, Any]) -> dict[str, Any]:
        if len(self.displays) < MAX_DISPLAYS_KEPT:
            self.displays.append(describe_display(data))
        else:
            self.more_displays += 1
        return data


def describe_display(data: dict[str, Any]) -> str:
    """One short line for a rich display: its richest type and a cut of its text form."""
    kinds = [kind for kind in data if kind != "text/plain"] or ["text/plain"]
    text = squeezed(data.get("text/plain", ""), MAX_DISPLAY_TEXT)
    return f"{kinds[0]} ({text})" if text else kinds[0]


@contextmanager
def agent_cell_outputs(shell: Any, capture: ModelCapture, rules: OutputRules) -> Iterator[None]:
    """The whole chain around one agent cell, in its order (see the module's docstring)."""
    with ExitStack() as stack:
        # Display hooks run in the order they were added: described before the rules change them.
        displays = ("display_data", "update_display_data")
        stack.enter_context(filtered_displays(shell, capture.add_display, kinds=displays))
        if rules.redact is not None:  # threads the cell starts: guarded past its end
            stack.enter_context(watch_agent_cell(shell, rules))
        stack.enter_context(leaving_kernel(shell, rules))
        # Innermost on the streams: the model's copy is taken before the rules change them.
        stack.enter_context(_tee_streams(capture.stdout, capture.stderr))
        yield


class _Tee:
    """A stream that writes through to the real one and also into a bounded buffer."""

    def __init__(self, stream: Any, buffer: HeadTailBuffer) -> None:
        self._stream = stream
        self._buffer = buffer

    def write(self, text: str) -> int:
        self._buffer.write(text)
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _tee_streams(stdout: HeadTailBuffer, stderr: HeadTailBuffer) -> Iterator[None]:
    # ipykernel's own stream hooks are thread-local and run on its IO thread at flush time, so
    # they can't observe a cell reliably; wrapping sys.stdout/sys.stderr can.
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(real_out, stdout), _Tee(real_err, stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = real_out, real_err


class CellOutputRules:
    """Which top-level cells get the agent cells' output rules, and applying them.

    One per kernel, made when the extension loads. It follows IPython's ``pre_run_cell`` and
    ``post_run_cell`` events to know the cell the kernel is running (the agent's own cells,
    run inside a prompt cell, also fire them, and are told apart as nested). Two kinds of
    top-level cell are covered:

    - recorded agent cells that run again as ordinary code, known by the id the frontend
      sends with each execute request (:meth:`watch`): redaction and the output cap;
    - the ``%agent`` or ``%%crew`` cell itself while it runs (:meth:`redact_current_cell`):
      its lines about the run, its error message and its result (the final answer) are
      redacted until the cell ends.
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._watched: set[str] = set()
        self._redact: Redact = str
        self._max_output_bytes: int | None = None
        self._top: Any = None  # the running top-level cell's ExecutionInfo
        self._top_request: str | None = None  # and the execute request it came with
        self._active: ExitStack | None = None
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)

    def watch(
        self, cell_ids: Collection[str], redact: Redact, max_output_bytes: int | None
    ) -> None:
        """Apply ``redact`` and the output cap to these cells whenever they run from now on."""
        self._watched.update(cell_ids)
        self._redact = redact
        self._max_output_bytes = max_output_bytes

    def redact_current_cell(self, redact: Redact) -> None:
        """Redact what the running top-level cell shows from now until it ends."""
        if self._top is None or self._active is not None:
            return
        stack = ExitStack()
        stack.enter_context(redact_outputs(self.shell, redact))
        self._active = stack

    def _pre_run_cell(self, info: Any) -> None:
        request = self._request_id()
        if self._top is not None and request == self._top_request:
            return  # an agent cell inside the running prompt cell: the executor covers it
        self._end()  # (a top-level cell whose end was never announced)
        self._top, self._top_request = info, request
        if getattr(info, "cell_id", None) in self._watched:
            stack = ExitStack()  # the agent cells' own rules, so the outputs are the same
            rules = OutputRules(self._max_output_bytes, self._redact)
            stack.enter_context(leaving_kernel(self.shell, rules))
            self._active = stack

    def close(self) -> None:
        """Stop following cells (``%unload_ext``)."""
        self._end()
        self.shell.events.unregister("pre_run_cell", self._pre_run_cell)
        self.shell.events.unregister("post_run_cell", self._post_run_cell)

    def _post_run_cell(self, result: Any) -> None:
        # ``result`` is None when the cell ended by an exception outside IPython's handling.
        if result is not None and getattr(result, "info", None) is not self._top:
            return  # an agent cell's end, not the top-level cell's
        self._top = None
        self._end()

    def _request_id(self) -> str | None:
        """The execute request being handled: agent cells run within their prompt cell's."""
        get_parent = getattr(self.shell, "get_parent", None)
        parent = get_parent() if callable(get_parent) else None
        return ((parent or {}).get("header") or {}).get("msg_id")

    def _end(self) -> None:
        if self._active is not None:
            active, self._active = self._active, None
            active.close()
