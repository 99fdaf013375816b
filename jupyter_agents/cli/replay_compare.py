"""Comparing an agent cell's new outputs with the recorded ones (``jupyter agents replay``).

Outputs are compared as a reader sees them, not byte for byte: consecutive stream chunks are
joined (how a print splits into messages varies), memory addresses in reprs are masked, and
execution counts and output metadata are ignored. Text formats (plain, HTML, markdown, JSON,
LaTeX) are compared exactly after that. Images are compared by presence and type only:
plotting libraries do not render byte-identical PNGs across versions and machines, so a
changed chart is not detected. That limit is stated in the report's legend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..text.clipping import squeezed

TEXT_TYPES = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "application/json",
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


@dataclass(frozen=True)
class Divergence:
    """One agent cell whose outputs differ from the record."""

    index: int
    cell_id: str
    label: str
    detail: str

    def __str__(self) -> str:
        return f"cell {self.index} ({self.label}, id {self.cell_id}): {self.detail}"


def normalized(outputs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The outputs as comparable tuples (see the module docstring for what is ignored)."""
    result: list[tuple[str, ...]] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = _mask(_text(output.get("text", "")))
            if result and result[-1][:2] == ("stream", output.get("name", "")):
                result[-1] = ("stream", output.get("name", ""), result[-1][2] + text)
            else:
                result.append(("stream", output.get("name", ""), text))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            for mime in sorted(data):
                if mime in TEXT_TYPES:
                    value = data[mime]
                    text = value if isinstance(value, str) else _text(value)
                    result.append(("data", mime, _mask(text)))
                elif mime.startswith("image/"):
                    result.append(("data", mime, "<image>"))
        elif kind == "error":
            result.append(("error", output.get("ename", ""), _mask(output.get("evalue", ""))))
    return result


def first_difference(recorded: list[dict[str, Any]], new: list[dict[str, Any]]) -> str | None:
    """A one-line description of how ``new`` differs from ``recorded``; None if they match."""
    before, after = normalized(recorded), normalized(new)
    if before == after:
        return None
    for position, (old, now) in enumerate(zip(before, after, strict=False)):
        if old != now:
            return f"output {position + 1}: recorded {_show(old)}, now {_show(now)}"
    if len(before) > len(after):
        return f"output {len(after) + 1} is missing: recorded {_show(before[len(after)])}"
    return f"an extra output {len(before) + 1}: {_show(after[len(before)])}"


def _show(item: tuple[str, ...]) -> str:
    kind, name, text = item
    text = squeezed(text, 80)
    label = {"stream": name, "data": name, "error": f"error {name}"}[kind]
    return f"{label} {text!r}"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


def _mask(text: str) -> str:
    return _ADDRESS.sub("0x…", text)
