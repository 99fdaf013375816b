"""Secrets out of agent cells' outputs, in the kernel, before they are sent anywhere.

A cell the agent wrote may print a credential: ``print(os.environ)`` while it looks around, a
connection string inside an error message. Its outputs go to the browser and into the saved
notebook, which is meant to be shared. So while an agent cell runs, every text it prints,
displays or raises passes through the run's :class:`~jupyter_agents.safety.redact.Redactor` (key
shapes, and the values of secret-named environment variables) on its way out.

The same happens when a recorded agent cell runs again as ordinary code (Run All, or
``jupyter agents run`` / ``replay``): the replaying prompt cell asks :class:`CellOutputRules`
to watch those cells, so they produce what was recorded, redacted and capped alike. And the
prompt cell's own outputs (its lines about the run, an error's message, the final answer
shown as its result) are redacted while it runs.

Every output that holds text is redacted: ``text/*``, JSON (its keys as well as its values,
``IPython.display.JSON(dict(os.environ))``), SVG, JavaScript, custom types and display
metadata. Only binary images (base64 PNG, JPEG, ...) are left as they are: their text can
spell a key's shape by chance, and a secret drawn as pixels is not text. Streams are redacted
by whole lines (:class:`LineRedactor`), so a key written in two pieces is caught where the
notebook joins them. The user's own cells are never touched (with the Python API,
``await Agent(...).run()`` in a cell of theirs, only the agent's cells are). Like all
redaction here, this is a safety net: a secret with no recognisable name or shape passes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .output_hooks import filtered_displays, filtered_errors, wrapped_streams
from .output_limits import limit_outputs

Redact = Callable[[str], str]


@contextmanager
def redact_outputs(shell: Any, redact: Redact) -> Iterator[None]:
    """Redact every text output published while inside."""
    streams: list[LineRedactor] = []

    def redacting(write: Any, _name: str) -> Any:
        stream = LineRedactor(write, redact)
        streams.append(stream)
        return stream.write

    def redacted_error(_etype: Any, evalue: Any, stb: list[str]) -> tuple[Any, list[str]]:
        return redact(str(evalue)), [redact(line) for line in stb]

    with (
        wrapped_streams(redacting),
        filtered_displays(
            shell, lambda data: redacted_bundle(data, redact), lambda meta: _redacted(meta, redact)
        ),
        filtered_errors(shell, redacted_error),
    ):
        try:
            yield
        finally:
            for stream in streams:
                stream.flush()


class LineRedactor:
    """Stands in for a stream's ``write``: redacts whole lines, not the chunks written.

    A notebook joins a stream's writes into one text, so a key written in two ``write``
    calls would pass a chunk-by-chunk redactor. The start of an unfinished line is held back
    until its line ends (``\\n`` or ``\\r``), the held text grows past ``MAX_HELD``, or the
    cell ends (:meth:`flush`). Writes from several threads share it, under a lock.
    """

    MAX_HELD = 64 * 1024
    #: What stays held when ``MAX_HELD`` is passed: longer than any secret's line.
    KEEP_HELD = 1024

    def __init__(self, write: Any, redact: Redact) -> None:
        self._write, self._redact = write, redact
        self._held = ""
        self._lock = threading.Lock()

    def write(self, text: Any) -> Any:
        if not isinstance(text, str):
            return self._write(text)  # the stream's own error for a non-string
        with self._lock:
            joined = self._held + text
            end = max(joined.rfind("\n"), joined.rfind("\r")) + 1
            if end == 0 and len(joined) > self.MAX_HELD:
                end = len(joined) - self.KEEP_HELD
            ready, self._held = joined[:end], joined[end:]
            if ready:
                self._write(self._redact(ready))
        return len(text)

    def flush(self) -> None:
        """Send what is held (the cell has ended)."""
        with self._lock:
            held, self._held = self._held, ""
        if held:
            self._write(self._redact(held))


#: Binary images (base64): the only data left as it is; their text can spell a key by chance.
def _is_binary_image(kind: str) -> bool:
    return kind.startswith("image/") and not kind.endswith(("svg+xml", "+json", "+xml"))


def redacted_bundle(data: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """A MIME bundle with every text form redacted (``text/*``, JSON keys and values, SVG,
    JavaScript, custom types); binary images as they were."""
    return {
        kind: value if _is_binary_image(kind) else _redacted(value, redact)
        for kind, value in data.items()
    }


def _redacted(value: Any, redact: Redact) -> Any:
    """``value`` with every string in it redacted: text, nbformat's list of lines, JSON
    (keys too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(part, redact) for part in value]
    if isinstance(value, dict):
        return {
            redact(key) if isinstance(key, str) else key: _redacted(part, redact)
            for key, part in value.items()
        }
    return value


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
            stack = ExitStack()  # in the agent executor's order, so the outputs are the same
            stack.enter_context(limit_outputs(self.shell, self._max_output_bytes))
            stack.enter_context(redact_outputs(self.shell, self._redact))
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
