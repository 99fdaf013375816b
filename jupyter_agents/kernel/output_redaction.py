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
from collections.abc import Callable
from typing import Any

from ..safety.redact import redacted_json

Redact = Callable[[str], str]


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
        kind: value if _is_binary_image(kind) else redacted_json(value, redact)
        for kind, value in data.items()
    }
