"""What a measure hands back, and how the suite writes it: a markdown table and a JSON file.

Every measure returns a :class:`Measure`: tables already formatted for people, notes saying
what the numbers include, and ``data`` with the raw samples for anyone who wants to redo the
statistics. The markdown is for reading; the JSON is the record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: The note of a measure that ran without smolagents.
NOT_COMPARED = (
    'smolagents was not measured (not installed: `pip install -e ".[bench]"`; or '
    "`--without-smolagents`): no comparison."
)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""

    def markdown(self) -> str:
        lines = []
        if self.caption:
            lines += [self.caption, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join(" --- " for _ in self.headers) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Measure:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    #: Set when the measure could not run; the suite then exits non-zero.
    error: str | None = None
    seconds: float = 0.0
    #: The machine's 1-minute load average before and after the measure.
    load: list[float | None] = field(default_factory=list)

    def markdown(self, number: int) -> str:
        parts = [f"### {number}. {self.title}"]
        if self.error:
            parts.append(
                f"**Failed:** `{self.error.strip().splitlines()[-1]}` (details in the JSON)"
            )
        parts += [table.markdown() for table in self.tables]
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        return "\n\n".join(parts)


def ms(seconds: float | None, digits: int = 1) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.{digits}f} ms"


def seconds_text(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:,.2f} s"


def ratio_text(value: float | None) -> str:
    """ours ÷ smolagents, with the reading spelled out (below 1, ours takes less)."""
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value:.3g} (ours {1 / value:.3g}× less)"
    return f"{value:.3g} (ours {value:.3g}× more)"


def load_line(before: float | None, measures: list[Measure]) -> str:
    """How busy the machine was: other jobs on a shared machine slow both sides."""
    seen = [value for m in measures for value in m.load if value is not None]
    if before is None or not seen:
        return "Load average: unknown."
    return (
        f"Load average (1 min): {before:.2f} before the run, up to {max(seen):.2f} between "
        "measures (the suite itself keeps about one core busy)."
    )


def markdown_report(header: dict[str, Any], measures: list[Measure]) -> str:
    machine = header["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    lines = [
        "## Benchmark results",
        "",
        f"Run {header['date']} with `python -m benchmarks{header['arguments']}` "
        f"(preset `{header['config']['preset']}`, {header['seconds']:.0f} s in all) "
        f"at commit {header['commit']}.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; "
        f"{machine['os']}; Python {machine['python']}. Packages: {versions}.",
        "",
        load_line(header.get("load_before"), measures),
        "",
        "Ratios are ours ÷ smolagents, between medians taken in the same run on the same inputs.",
        "",
    ]
    for number, measure in enumerate(measures, start=1):
        lines += [measure.markdown(number), ""]
    return "\n".join(lines)


def write_reports(directory: Path, header: dict[str, Any], measures: list[Measure]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    document = {**header, "measures": {m.key: asdict(m) for m in measures}}
    json_path = directory / "latest.json"
    md_path = directory / "latest.md"
    json_path.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown_report(header, measures), encoding="utf-8")
    return [md_path, json_path]
