"""``python -m benchmarks.quality`` end to end, with scripted replies instead of a real model.

Both systems go through their real paths (a ``jupyter agents run`` of a generated notebook in a
kernel; smolagents' CodeAgent with LiteLLMModel in a process of its own) to the loopback
server, so what is checked here is the harness: that each run is graded on the answer the
system really returned, that the report says so, and that a rerun resumes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from benchmarks.quality.__main__ import main
from benchmarks.quality.outcome import run_process
from benchmarks.quality.tasks import load_tasks
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

TASK = "students_mean_math"


@pytest.fixture
def model_env(script: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_BASE", script.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return script


def test_both_systems_are_run_graded_reported_and_resumed(
    model_env: ScriptedLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = next(t for t in load_tasks() if t.id == TASK)
    (name,) = task.expected
    # Ours computes the answer from the CSV in its kernel; smolagents answers a wrong value.
    computed = (
        "import pandas as pd\n"
        "scores = pd.read_csv('students.csv')['math_score'].dropna()\n"
        f"final_answer(f'@{name}[{{scores.mean():.2f}}]')"
    )
    smol = "Thought: I know it.\n<code>\nfinal_answer('@" + name + "[1.00]')\n</code>"
    model_env.script(code(computed), smol)
    out = tmp_path / "results"
    args = ["--model", "openai/scripted", "--tasks", TASK, "--out", str(out), "--max-steps", "3"]

    assert main(args) == 0
    progress = capsys.readouterr().out
    assert f"[1/2] task 1/1 {TASK} (easy) ours r1: correct; ended completed, 1 steps" in progress
    assert f"[2/2] task 1/1 {TASK} (easy) smolagents r1: not scored ({name}: expected" in progress

    report = json.loads((out / "quality-latest.json").read_text())
    runs = {run["system"]: run for run in report["runs"]}
    assert runs["ours"]["correct"] and runs["ours"]["outcome"]["answer"] == (
        f"@{name}[{task.expected[name]}]"
    )
    assert not runs["smolagents"]["correct"]
    assert report["summary"]["ours"]["success_rate"] == 1.0
    assert report["summary"]["smolagents"]["failures"] == {"wrong answer": 1}
    assert report["header"]["Model"] == "openai/scripted"
    markdown = (out / "quality-latest.md").read_text()
    assert f"| {TASK} | easy | ✓ | ✗ |" in markdown
    # What the model wrote is kept for inspection, each run under its own name.
    assert (out / "quality-runs" / f"{TASK}-ours-r1.ipynb").exists()
    assert (out / "quality-runs" / f"{TASK}-smolagents-r1.json").exists()

    # A rerun skips what is done (the script is empty: a model call would fail the run).
    requests = len(model_env.requests)
    assert main(args) == 0
    assert "done earlier, skipped" in capsys.readouterr().out
    assert len(model_env.requests) == requests
    # A run stopped part way is reported from what finished, with nothing run.
    (out / "quality-latest.md").unlink()
    assert main([*args[:3], f"{TASK},sales_region_revenue", *args[4:], "--report"]) == 0
    assert len(model_env.requests) == requests and "running" not in capsys.readouterr().out
    assert "- **Runs**: 2 of 4 finished" in (out / "quality-latest.md").read_text()
    # Other settings into the same folder are refused rather than mixed in.
    assert main([*args[:-1], "5"]) == 2
    assert "holds runs made with other settings" in capsys.readouterr().err
    assert os.path.exists(out / "quality-runs.jsonl")


def test_a_run_past_its_time_limit_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    """Our side's process starts a kernel: on a timeout nothing it started may keep running."""
    pid_file = tmp_path / "grandchild.pid"
    spawn = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)"
    )
    assert run_process([sys.executable, "-c", spawn], tmp_path, timeout=3) is None
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild)
    finished = run_process([sys.executable, "-c", "print('fine')"], tmp_path, timeout=30)
    assert finished is not None and finished.stdout == "fine\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its (killed) parent is a zombie: not running.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_runs_go_to_a_dask_cluster_with_workers(
    model_env: ScriptedLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--workers 2``: the runs are tasks on a real LocalCluster (the engine of ``jupyter
    agents batch``), each graded and stored as it finishes."""
    task = next(t for t in load_tasks() if t.id == TASK)
    (name,) = task.expected
    computed = (
        "import pandas as pd\n"
        "scores = pd.read_csv('students.csv')['math_score'].dropna()\n"
        f"final_answer(f'@{name}[{{scores.mean():.2f}}]')"
    )
    model_env.script(code(computed), code(computed))
    out = tmp_path / "results"
    args = ["--model", "openai/scripted", "--tasks", TASK, "--systems", "ours", "--repeats", "2"]
    assert main([*args, "--out", str(out), "--max-steps", "3", "--workers", "2"]) == 0
    progress = capsys.readouterr().out
    assert "2 run(s) submitted to tcp://127.0.0.1:" in progress
    assert progress.count(": correct; ended completed") == 2
    stored = [json.loads(line) for line in (out / "quality-runs.jsonl").read_text().splitlines()]
    assert sorted(run["repeat"] for run in stored) == [1, 2]
    assert all(run["correct"] for run in stored)
