"""What happens to each kind of output an agent cell makes on its way out of the kernel.

One definition, used wherever an agent cell's output can appear (:mod:`.output_pipeline`,
:mod:`.late_output`). Streams and errors are redacted whole, then cut to ``max_output_bytes``:
a cut could split a secret past recognition. Displays and results are cut first, then
redacted: a multi-megabyte bundle is not worth redacting whole only to be replaced by its head,
and the cut leaves out the word it goes through, so half a key cannot pass the redaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .output_limits import StreamBudget, cap_bundle, cap_error
from .output_redaction import LineRedactor, Redact, redacted_bundle, redacted_json


@dataclass(frozen=True)
class OutputRules:
    """What happens to an agent cell's output on its way out: ``max_bytes`` (0 or None: no
    cap) per output, and ``redact`` (None: nothing redacted)."""

    max_bytes: int | None = None
    redact: Redact | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(self.max_bytes) or self.redact is not None

    def stream(self, write: Callable[[Any], Any], name: str) -> Any:
        """A stand-in for a stream's ``write``, with ``write`` and ``flush`` (at the cell's end)."""
        if self.max_bytes:
            write = StreamBudget(write, name, self.max_bytes).write
        return LineRedactor(write, self.redact) if self.redact is not None else _Passing(write)

    def bundle(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.max_bytes:
            data = cap_bundle(data, self.max_bytes)
        return data if self.redact is None else redacted_bundle(data, self.redact)

    def metadata(self, metadata: Any) -> Any:
        return metadata if self.redact is None else redacted_json(metadata, self.redact)

    def error(self, _etype: Any, evalue: Any, stb: list[str]) -> tuple[Any, list[str]]:
        if self.redact is not None:
            evalue, stb = self.redact(str(evalue)), [self.redact(line) for line in stb]
        return cap_error(evalue, stb, self.max_bytes) if self.max_bytes else (evalue, stb)


class _Passing:
    """A stream stand-in that changes nothing (no redaction; the cap, if any, is inside)."""

    def __init__(self, write: Callable[[Any], Any]) -> None:
        self.write = write

    def flush(self) -> None:
        pass
