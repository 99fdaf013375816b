"""Secrets out of agent cells' outputs, in the kernel, before they are sent anywhere.

A cell the agent wrote may print a credential: ``print(os.environ)`` while it looks around, a
connection string inside an error message. Its outputs go to the browser and into the saved
notebook, which is meant to be shared. So while an agent cell runs, every text it prints,
displays or raises passes through the run's :class:`~jupyter_agents.redact.Redactor` (key
shapes, and the values of secret-named environment variables) on its way out.

The same happens when a recorded agent cell runs again as ordinary code (Run All, or
``jupyter agents run`` / ``replay``): the replaying prompt cell asks :class:`RecordedCells` to
watch those cells, so they produce what was recorded, redacted and capped alike.

Only text is touched: images and other base64 data can spell a key's shape by chance. A
user's own cells are never touched. Like all redaction here, this is a safety net: a secret
with no recognisable name or shape passes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .output_hooks import filtered_displays, filtered_errors, wrapped_streams
from .output_limits import limit_outputs

Redact = Callable[[str], str]


@contextmanager
def redact_outputs(shell: Any, redact: Redact) -> Iterator[None]:
    """Redact every text output published while inside."""

    def redacting(write: Any, _name: str) -> Any:
        def write_redacted(text: Any) -> Any:
            return write(redact(text) if isinstance(text, str) else text)

        return write_redacted

    def redacted_error(_etype: Any, evalue: Any, stb: list[str]) -> tuple[Any, list[str]]:
        return redact(str(evalue)), [redact(line) for line in stb]

    with (
        wrapped_streams(redacting),
        filtered_displays(shell, lambda data: redacted_bundle(data, redact)),
        filtered_errors(shell, redacted_error),
    ):
        yield


def redacted_bundle(data: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """A MIME bundle with its text forms redacted (``text/*``); other data as it was."""
    return {
        kind: _redacted(value, redact) if kind.startswith("text/") else value
        for kind, value in data.items()
    }


def _redacted(value: Any, redact: Redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return [redact(part) for part in value]
    return value


class RecordedCells:
    """Recorded agent cells that run again as ordinary code get the agent cells' output rules.

    One per kernel. It listens to IPython's ``pre_run_cell`` / ``post_run_cell`` events and
    recognises the cells by the id the frontend sends with each execute request.
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._cells: set[str] = set()
        self._redact: Redact = str
        self._max_output_bytes: int | None = None
        self._active: ExitStack | None = None
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)

    def watch(
        self, cell_ids: Collection[str], redact: Redact, max_output_bytes: int | None
    ) -> None:
        """Apply ``redact`` and the output cap to these cells whenever they run from now on."""
        self._cells.update(cell_ids)
        self._redact = redact
        self._max_output_bytes = max_output_bytes

    def _pre_run_cell(self, info: Any) -> None:
        self._end()
        if getattr(info, "cell_id", None) not in self._cells:
            return
        stack = ExitStack()
        stack.enter_context(redact_outputs(self.shell, self._redact))
        stack.enter_context(limit_outputs(self.shell, self._max_output_bytes))
        self._active = stack

    def _post_run_cell(self, _result: Any) -> None:
        self._end()

    def _end(self) -> None:
        if self._active is not None:
            active, self._active = self._active, None
            active.close()
