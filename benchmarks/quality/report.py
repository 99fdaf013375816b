"""The quality suite's results: ``quality-latest.md`` for people, ``quality-latest.json`` for
the record (every run, the settings, the machine).

Success rates are per repeat first (repeat k's share of correct tasks), then their mean and
spread, so K repeats of a noisy model show how much the rate moves between runs.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from statistics import mean, median
from typing import Any

from .outcome import RunRecord

#: Endings that mean the system itself ended the run with an answer (graded for correctness).
ANSWERED = {"completed", "success"}
SYSTEM_NAMES = {"ours": "jupyter-agents", "smolagents": "smolagents CodeAgent"}


def failure_kind(record: RunRecord) -> str | None:
    """Why a run did not score: its ending when that was not an answer, else the grade."""
    if record.correct:
        return None
    ended = record.outcome.ended
    if ended not in ANSWERED:
        return ended
    problem = record.problem or ""
    return "answer not in @name[value] form" if problem.startswith("no @") else "wrong answer"


def summarize(records: list[RunRecord], systems: list[str]) -> dict[str, Any]:
    """Per system: success rate (mean and spread over repeats), medians, failure kinds."""
    summary: dict[str, Any] = {}
    for system in systems:
        runs = [r for r in records if r.system == system]
        if not runs:
            continue
        by_repeat: dict[int, list[bool]] = defaultdict(list)
        by_level: dict[str, list[bool]] = defaultdict(list)
        for record in runs:
            by_repeat[record.repeat].append(record.correct)
            by_level[record.level].append(record.correct)
        rates = [sum(v) / len(v) for _, v in sorted(by_repeat.items())]
        outcomes = [r.outcome for r in runs]
        summary[system] = {
            "runs": len(runs),
            "correct": sum(r.correct for r in runs),
            "success_rate": mean(rates),
            "success_rate_per_repeat": rates,
            "success_by_level": {k: sum(v) / len(v) for k, v in sorted(by_level.items())},
            "median_steps": median(o.steps for o in outcomes),
            "median_model_calls": median(o.model_calls for o in outcomes),
            "median_prompt_tokens": median(o.prompt_tokens for o in outcomes),
            "median_completion_tokens": median(o.completion_tokens for o in outcomes),
            "median_seconds": median(o.seconds for o in outcomes),
            "total_seconds": sum(o.seconds for o in outcomes),
            "endings": dict(Counter(o.ended for o in outcomes).most_common()),
            "failures": dict(Counter(k for r in runs if (k := failure_kind(r))).most_common()),
        }
    return summary


def markdown(records: list[RunRecord], header: dict[str, Any], systems: list[str]) -> str:
    summary = summarize(records, systems)
    lines = ["# Quality suite: jupyter-agents and smolagents on the same model", ""]
    lines += [f"- **{name}**: {value}" for name, value in header.items()]
    lines += ["", _overview(summary), "", _endings(summary), "", _per_task(records, systems)]
    return "\n".join(lines) + "\n"


def _overview(summary: dict[str, Any]) -> str:
    rows = [
        "| System | Success rate (spread over repeats) | Easy | Medium | Hard | Median steps "
        "| Median model calls | Median prompt tokens / task | Median completion tokens "
        "| Median wall s | Total wall s |",
        "|" + " --- |" * 11,
    ]
    for system, s in summary.items():
        rates = s["success_rate_per_repeat"]
        spread = f"{min(rates):.0%}–{max(rates):.0%}" if len(rates) > 1 else "1 repeat"
        levels = [s["success_by_level"].get(level) for level in ("easy", "medium", "hard")]
        shown = ["n/a" if v is None else f"{v:.0%}" for v in levels]
        rows.append(
            f"| {SYSTEM_NAMES.get(system, system)} | **{s['success_rate']:.0%}** "
            f"({s['correct']}/{s['runs']} runs; {spread}) | {' | '.join(shown)} "
            f"| {s['median_steps']:g} | {s['median_model_calls']:g} "
            f"| {s['median_prompt_tokens']:,.0f} | {s['median_completion_tokens']:,.0f} "
            f"| {s['median_seconds']:.0f} | {s['total_seconds']:,.0f} |"
        )
    return "\n".join(rows)


def _endings(summary: dict[str, Any]) -> str:
    lines = ["How runs ended, and why runs did not score:", ""]
    for system, s in summary.items():
        endings = ", ".join(f"{k} {v}" for k, v in s["endings"].items())
        failures = ", ".join(f"{k} {v}" for k, v in s["failures"].items()) or "none"
        lines.append(f"- {SYSTEM_NAMES.get(system, system)}: ended {endings}; "
                     f"not scored: {failures}")  # fmt: skip
    return "\n".join(lines)


def _per_task(records: list[RunRecord], systems: list[str]) -> str:
    tasks: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    levels: dict[str, str] = {}
    for record in records:
        tasks[record.task][record.system].append(record)
        levels[record.task] = record.level
    header = "| Task | Level | " + " | ".join(SYSTEM_NAMES.get(s, s) for s in systems) + " |"
    rows = [header, "|" + " --- |" * (2 + len(systems))]
    for task, by_system in tasks.items():
        cells = []
        for system in systems:
            runs = sorted(by_system.get(system, []), key=lambda r: r.repeat)
            cells.append(" ".join(_mark(r) for r in runs) or "–")
        rows.append(f"| {task} | {levels[task]} | " + " | ".join(cells) + " |")
    legend = (
        "Per task, one mark per repeat: ✓ correct; ✗ wrong answer; F answer not in the asked "
        "form; P answered in prose without code, not correct; M step limit; R reply format error; "
        "T timeout; E other error."
    )
    return legend + "\n\n" + "\n".join(rows)


def _mark(record: RunRecord) -> str:
    kind = failure_kind(record)
    if kind is None:
        return "✓"
    marks = {"wrong answer": "✗", "answer not in @name[value] form": "F", "max-steps": "M",
             "max_steps_error": "M", "ReplyFormatError": "R", "timeout": "T",
             "answered-without-code": "P"}  # fmt: skip
    return marks.get(kind, "E")


def write(
    folder: Path, records: list[RunRecord], header: dict[str, Any], systems: list[str]
) -> tuple[Path, Path]:
    md, js = folder / "quality-latest.md", folder / "quality-latest.json"
    md.write_text(markdown(records, header, systems), encoding="utf-8")
    document = {
        "header": header,
        "summary": summarize(records, systems),
        "runs": [asdict(record) for record in records],
    }
    js.write_text(json.dumps(document, indent=1, default=repr) + "\n", encoding="utf-8")
    return md, js
