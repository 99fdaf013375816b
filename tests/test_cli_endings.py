"""Headless runs always end: a cell that ignores its interrupts, a cell that shuts the kernel
down, and a cell under ``--approve risky`` that nobody can approve (a real subprocess, real
kernels, the scripted loopback model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import kernel_env
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import cli_environment
from tests.support.replies import code

pytestmark = pytest.mark.kernel

#: A hang regression fails the test instead of hanging it.
BOUND = 120


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_agents.cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=BOUND,
    )  # fmt: skip


@pytest.fixture
def env(llm: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    return cli_environment(kernel_env(llm, tmp_path / "home"))


def agent_notebook(folder: Path, *after: str) -> Path:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_code_cell("%load_ext jupyter_agents"),
        new_code_cell("%agent Do the task", id="prompt"),
        *(new_code_cell(source) for source in after),
    ]
    path = folder / "task.ipynb"
    nbformat.write(nb, path)
    return path


def steps(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]


def the_run(nb: nbformat.NotebookNode) -> dict:
    return nb.metadata["jupyter_agents"]["runs"][-1]


STUBBORN = (
    "import time\nwhile True:\n    try:\n        time.sleep(1)\n"
    "    except KeyboardInterrupt:\n        pass"
)


def test_a_cell_that_swallows_every_interrupt_ends_the_run(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    agent_notebook(tmp_path, "print('after the agent')")
    script.script(code(STUBBORN, "Wait."), code("final_answer('never')"))

    ran = cli(
        "run", "task.ipynb", "--model", "openai/scripted", "--approve", "auto",
        "--cell-timeout", "1", "-o", "out.ipynb", env=env, cwd=tmp_path,
    )  # fmt: skip

    assert ran.returncode == 1, ran.stderr
    assert "cell 1: RunInterrupted: agent run ended: step 1: the cell kept running" in ran.stderr
    assert len(script.requests) == 1  # the run ended; the model was not asked again
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert metadata_errors(out) == []
    assert the_run(out)["status"] == "interrupted"


def test_a_cell_that_swallows_everything_has_its_kernel_killed(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    agent_notebook(tmp_path)
    deaf = STUBBORN.replace("KeyboardInterrupt", "BaseException")
    script.script(code(deaf, "Wait."), code("final_answer('never')"))

    ran = cli(
        "run", "task.ipynb", "--model", "openai/scripted", "--approve", "auto",
        "--cell-timeout", "1", "-o", "out.ipynb", env=env, cwd=tmp_path,
    )  # fmt: skip

    assert ran.returncode == 1, ran.stderr
    assert "cell 1, agent step 1's cell kept running after its time limit (1 s)" in ran.stderr
    assert "the kernel was killed" in ran.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert metadata_errors(out) == []
    assert the_run(out)["status"] == "interrupted"


def test_a_cell_that_shuts_the_kernel_down_ends_the_run(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    agent_notebook(tmp_path, "print('after the agent')")
    script.script(
        code("print('going down', flush=True)\nget_ipython().kernel.do_shutdown(True)", "Stop."),
        code("final_answer('never')"),
    )

    ran = cli(
        "run", "task.ipynb", "--model", "openai/scripted", "--approve", "auto",
        "-o", "out.ipynb", env=env, cwd=tmp_path,
    )  # fmt: skip

    assert ran.returncode == 1, ran.stderr
    assert "cell 1" in ran.stderr and "kernel" in ran.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert metadata_errors(out) == []
    assert the_run(out)["status"] == "interrupted"


def test_risky_without_a_person_runs_unflagged_cells_and_refuses_flagged_ones(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    agent_notebook(tmp_path)
    (tmp_path / "keep.txt").write_text("precious")
    script.script(
        code("rows = [1, 2, 3]\nprint('sum', sum(rows))", "Add up."),
        code("import os\nos.remove('keep.txt')", "Clean up."),
        code("final_answer(sum(rows))", "Answer without deleting."),
    )

    ran = cli(
        "run", "task.ipynb", "--model", "openai/scripted", "--approve", "risky",
        "-o", "out.ipynb", env=env, cwd=tmp_path,
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert "step 1: auto" in ran.stderr and "run completed" in ran.stderr
    assert (tmp_path / "keep.txt").read_text() == "precious"
    told = script.requests[2].last_user_text
    assert "did not run" in told and "nobody is here to approve" in told
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    nbformat.validate(out)
    assert metadata_errors(out) == []
    record = the_run(out)
    assert [m["status"] for m in record["step_metrics"]] == ["auto", "refused", "auto"]
    assert record["approve"] == "risky" and record["status"] == "completed"
    sources = [c.source for c in steps(out)]
    assert sources == ["rows = [1, 2, 3]\nprint('sum', sum(rows))", "final_answer(sum(rows))"]
