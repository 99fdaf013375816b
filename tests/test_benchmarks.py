"""The benchmark suite (benchmarks/) runs end to end in its tiny configuration.

This does not time anything: it checks that ``python -m benchmarks --tiny`` exits 0, that every
measure produced its numbers (none missing, none failed) and that the markdown and JSON reports
were written with their date and machine. So the suite cannot rot unnoticed. The numbers of a
tiny run mean nothing; ``python -m benchmarks`` is what measures.

The suite drives real kernels, a real JupyterLab in Chromium and (when it is installed, as the
``test`` extra does) smolagents. Without smolagents, the comparison columns must say "n/a".
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
MEASURES = ["overhead", "execution", "context", "startup", "browser", "undo", "batch"]
HAS_SMOLAGENTS = importlib.util.find_spec("smolagents") is not None


class SuiteRun:
    """``python -m benchmarks --tiny ARGS`` from the repository root, started at once."""

    def __init__(self, out: Path, *args: str) -> None:
        self.out = out
        # Files, not pipes: nobody reads a pipe while the other run is awaited.
        self.stdout, self.stderr = out / "stdout.txt", out / "stderr.txt"
        with self.stdout.open("wb") as stdout, self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks", "--tiny", "--out", str(out), *args],
                cwd=ROOT,
                stdout=stdout,
                stderr=stderr,
                # its own process group, so that stopping it also stops its kernels and server
                start_new_session=True,
            )

    def results(self) -> tuple[dict[str, Any], str]:
        """Wait for the command; its JSON document and its markdown."""
        try:
            self.process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        stderr = self.stderr.read_text(errors="replace")
        assert self.process.returncode == 0, stderr[-6000:]
        printed = self.stdout.read_text().split()
        assert printed == [str(self.out / "latest.md"), str(self.out / "latest.json")]
        document = json.loads((self.out / "latest.json").read_text(encoding="utf-8"))
        markdown = (self.out / "latest.md").read_text(encoding="utf-8")
        return document, markdown

    def stop(self) -> None:
        """End the run and everything it started (a failed or interrupted test)."""
        if self.process.poll() is not None:
            return
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal_number)
            try:
                self.process.wait(timeout=20)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SuiteRun]]:
    """Both runs of this module, started together: the short one overlaps the long one."""
    runs = {
        "all": SuiteRun(tmp_path_factory.mktemp("bench-all")),
        "ours only": SuiteRun(
            tmp_path_factory.mktemp("bench-ours"), "--only", "execution", "--without-smolagents"
        ),
    }
    try:
        yield runs
    finally:
        for run in runs.values():
            run.stop()


def number(value: Any, what: str) -> float:
    assert isinstance(value, int | float) and not isinstance(value, bool), f"{what}: {value!r}"
    assert math.isfinite(value), f"{what}: {value!r}"
    return value


def samples(summary: dict[str, Any], count: int, what: str) -> None:
    """A stats.summary with ``count`` samples, each a number, and its median."""
    assert summary["n"] == count == len(summary["samples"]), f"{what}: {summary}"
    for sample in summary["samples"]:
        number(sample, what)
    number(summary["median"], f"{what} median")
    number(summary["p95"], f"{what} p95")


def check_header(document: dict[str, Any], markdown: str, measures: list[str]) -> None:
    assert document["failed"] == []
    assert document["config"]["preset"] == "tiny"
    assert list(document["measures"]) == measures
    machine = document["machine"]
    number(machine["cores"], "cores")
    assert machine["cpu"] and machine["python"] and machine["packages"]["jupyter-agents"]
    assert markdown.startswith("## Benchmark results")
    assert f"Run {document['date']} with `python -m benchmarks --tiny" in markdown
    assert f"Machine: {machine['cpu']}, {machine['cores']} cores" in markdown
    assert "Load average" in markdown
    assert "**Failed:**" not in markdown
    for key in measures:
        measure = document["measures"][key]
        assert measure["error"] is None, measure["error"]
        assert measure["tables"] and all(table["rows"] for table in measure["tables"]), key
        assert f". {measure['title']}" in markdown


def check_overhead(data: dict[str, Any], config: dict[str, Any], compared: bool) -> None:
    systems = ["ours, widgets", "ours, notebook protocol"]
    if compared:
        systems += ["smolagents, default logging", "smolagents, logging off"]
        number(data["ratio_ours_widgets"], "overhead ratio")
    else:
        assert data["ratio_ours_widgets"] is None
    summary = ("ratio_ours_widgets", "ratio_notebook_to_widgets", "round_trips_per_step")
    assert [key for key in data if key not in summary] == systems
    number(data["ratio_notebook_to_widgets"], "notebook protocol / widgets")
    # Protocol version 2: a step the policy approves takes two requests to the frontend.
    assert data["round_trips_per_step"] == 2
    for system in systems:
        for key in ("overhead_per_step", "execution_per_step", "model_per_step"):
            number(data[system][key], f"{system} {key}")
        assert len(data[system]["runs"]) == config["repeats"]
        assert all(run["steps"] == config["overhead_steps"] for run in data[system]["runs"])


def check_execution(data: dict[str, Any], config: dict[str, Any], compared: bool) -> None:
    assert set(data) == {"loop", "functions", "strings", "pandas", "pandas_apply", "numpy"}
    for key, cell in data.items():
        samples(cell["ours"], config["execution_repeats"], f"ours {key}")
        assert cell["printed"]["ours"], key  # what the cell printed, as the model saw it
        if compared:
            samples(cell["smolagents"], config["execution_repeats"], f"smolagents {key}")
            number(cell["ratio"], f"{key} ratio")
            assert cell["printed"]["smolagents"] in cell["printed"]["ours"]
        else:
            assert cell["smolagents"]["n"] == 0 and cell["ratio"] is None


def check_context(data: dict[str, Any], config: dict[str, Any], compared: bool) -> None:
    sides = ["ours", "smolagents"] if compared else ["ours"]
    if not compared:
        assert data["smolagents"] == {}
    points = {str(step) for step in config["context_steps"]}
    for side in sides:
        for size in ("1x", "2x"):
            counts = data[side][size]
            assert number(counts["system"], f"{side} system prompt") > 0
            assert set(counts["prompt"]) == points
            prompts = [counts["prompt"][str(step)] for step in config["context_steps"]]
            assert prompts[0] > counts["system"], (side, prompts)
            # one share per model call after the first, each a fraction of the previous prompt
            reuse = counts["reuse"]
            assert len(reuse) == max(config["context_steps"]) - 1
            assert all(0 <= share <= 1 for share in reuse), reuse
            if side == "smolagents":  # append-only: each prompt holds the one before
                assert prompts == sorted(prompts) and set(reuse) == {1.0}, (prompts, reuse)
            else:
                assert counts["largest"] >= max(prompts)
        number(data["growth_per_step"][side], f"{side} growth")
        number(data["twice_the_output"][side], f"{side} doubling")
    assert number(data["printed_per_cell"]["tokens"], "printed tokens") > 0


def check_startup(data: dict[str, Any], config: dict[str, Any], compared: bool) -> None:
    count = config["startup_repeats"]
    for key in ("first_token_preloaded", "first_token_no_frontend"):  # ours only
        samples(data[key], count, key)
    for key in ("load", "first_token", "first_token_warm"):
        samples(data[key], count, key)
        theirs = data[f"smol_{key if key != 'load' else 'import'}"]
        if compared:
            samples(theirs, count, f"smolagents {key}")
        else:
            assert theirs["n"] == 0


def check_browser(data: dict[str, Any], config: dict[str, Any]) -> None:
    repeats, tokens = config["browser_repeats"], config["browser_tokens"]
    samples(data["click_to_start"], repeats, "click to start")
    samples(data["click_to_output_visible"], repeats, "click to output")
    samples(data["token_to_visible"], repeats * tokens, "token to visible")
    samples(data["token_to_dom"], repeats * tokens, "token to DOM")
    samples(data["run_to_first_token_visible"], repeats, "run to first token")
    assert data["chromium"]


def check_undo(data: dict[str, Any], config: dict[str, Any]) -> None:
    assert number(data["frame_bytes"], "frame bytes") > 0
    samples(data["deep_copy"], config["undo_repeats"], "deep copy")
    samples(data["deep_copy_dropped_at_once"], config["undo_repeats"], "deep copy dropped")
    for cell in ("reads the frame", "adds a column"):
        for setting in ("undo on", "undo off"):
            samples(data[cell][setting], config["undo_repeats"], f"{cell}, {setting}")
        number(data[cell]["undo_cost"], f"{cell} cost")


def check_batch(data: dict[str, Any], config: dict[str, Any]) -> None:
    assert data["jobs"] == config["batch_jobs"]
    assert sorted(data["workers"]) == sorted(str(n) for n in config["batch_workers"])
    for measured in data["workers"].values():
        assert number(measured["seconds"], "batch seconds") > 0
        assert number(measured["jobs_per_minute"], "jobs per minute") > 0
        number(measured["speedup"], "speed-up")
    assert number(data["plain_loop_seconds"], "plain loop") > 0
    number(data["engine_cost_per_job"], "engine cost per job")


def test_tiny_suite_produces_every_number(suite_runs: dict[str, SuiteRun]) -> None:
    document, markdown = suite_runs["all"].results()
    check_header(document, markdown, MEASURES)
    config = document["config"]
    data = {key: measure["data"] for key, measure in document["measures"].items()}
    check_overhead(data["overhead"], config, HAS_SMOLAGENTS)
    check_execution(data["execution"], config, HAS_SMOLAGENTS)
    check_context(data["context"], config, HAS_SMOLAGENTS)
    check_startup(data["startup"], config, HAS_SMOLAGENTS)
    check_browser(data["browser"], config)
    check_undo(data["undo"], config)
    check_batch(data["batch"], config)
    if HAS_SMOLAGENTS:
        # every cell of every table has its number: no comparison left out
        assert "n/a" not in markdown
        assert "smolagents was not measured" not in markdown
    else:
        assert "smolagents was not measured" in markdown


def test_without_smolagents_only_our_side_is_measured(suite_runs: dict[str, SuiteRun]) -> None:
    document, markdown = suite_runs["ours only"].results()
    check_header(document, markdown, ["execution"])
    assert document["config"]["compare"] is False
    check_execution(document["measures"]["execution"]["data"], document["config"], False)
    assert "smolagents was not measured" in markdown


def test_the_prompt_cache_measure_needs_a_server_and_says_so(monkeypatch, capsys) -> None:
    from benchmarks import prompt_cache

    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    with pytest.raises(SystemExit) as stopped:
        prompt_cache.main([])
    assert stopped.value.code == 2
    assert "no server: pass --base http://127.0.0.1:18090/v1" in capsys.readouterr().err


def test_the_prompt_cache_report_totals_what_the_server_counted() -> None:
    import argparse

    from benchmarks import prompt_cache

    calls = [
        {"prompt_tokens": 100, "cached_tokens": 0, "read_tokens": 100, "read_ms": 1000.0},
        {"prompt_tokens": 150, "cached_tokens": 100, "read_tokens": 50, "read_ms": 500.0},
    ]
    args = argparse.Namespace(steps=2, output_bytes=1500, base="http://127.0.0.1:1/v1")
    markdown = prompt_cache.report({"ours": calls, "smolagents": calls[:1]}, args)
    assert "| 2 | 150 / 100 / 0.5 |  |" in markdown
    assert "| read (not cached) | 150 | 100 |" in markdown
    assert "| share from the cache | 0.400 | 0.000 |" in markdown
    assert "ours ÷ smolagents: 1.5." in markdown
