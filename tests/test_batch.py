"""``jupyter agents batch`` as a user runs it: a real subprocess, a real Dask LocalCluster of
worker processes on loopback, real kernels, and the scripted model reached through litellm.

The scripted reply is the same for every job (jobs run in any order): the cell writes a
marker file named by the process ids of its parent, the Dask worker, and of the kernel, so a
test can kill the worker that runs a job; then it answers ``n * 10`` from the injected
parameter.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from jupyter_agents.cli import main as cli_main
from jupyter_agents.cli.batch import ParameterError, plan_jobs, read_parameter_sets, slug
from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import kernel_env
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import cli_environment, python_notebook
from tests.support.replies import code

GRID = "n: [1, 2, 3]\n"


def reply(markers: Path, sleep: float = 0.0) -> str:
    return code(
        "import os, pathlib, time\n"
        f"pathlib.Path({str(markers)!r}, f'{{os.getppid()}}-{{os.getpid()}}').touch()\n"
        f"time.sleep({sleep})\n"
        "final_answer(n * 10)"
    )


def agent_notebook(path: Path) -> None:
    parameters = new_code_cell("n = 0\nlabel = 'default'")
    parameters.metadata["tags"] = ["parameters"]
    # The last cell tells whether the run imported jsonschema: its import costs a fresh
    # kernel seconds of CPU, which every job would pay (records are checked without it).
    cells = [
        parameters,
        "%load_ext jupyter_agents",
        "%agent Multiply n by ten and answer it",
        "import sys\nprint('jsonschema imported:', 'jsonschema' in sys.modules)",
    ]
    nbformat.write(python_notebook(cells), path)


def batch(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "jupyter_agents.cli", "batch", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    agent_notebook(tmp_path / "alpha.ipynb")
    agent_notebook(tmp_path / "beta.ipynb")
    (tmp_path / "grid.yaml").write_text(GRID)
    (tmp_path / "markers").mkdir()
    return tmp_path


@pytest.fixture
def env(llm: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    return {**cli_environment(kernel_env(llm, tmp_path / "home")), "OPENAI_MODEL": ""}


COMMAND = ("alpha.ipynb", "beta.ipynb", "--params", "grid.yaml", "-o", "out", "--workers", "2")
MODEL = ("--model", "openai/scripted", "--approve", "auto")


def summary_rows(outdir: Path) -> list[dict[str, str]]:
    with open(outdir / "summary.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# -- the parts, without a cluster ---------------------------------------------------------------


def test_parameter_files_give_sets_in_three_shapes(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- {n: 1, label: a}\n- {n: 2, label: b}\n")
    grid = tmp_path / "grid.yml"
    grid.write_text("n: [1, 2]\nlabel: [a, b]\nseed: 7\n")
    table = tmp_path / "table.csv"
    table.write_text('\ufeffn,label,rate,note\n1,a,0.5,\n2,007,1e-3,"x\ny"\n-3,nan,1_000,\n')
    assert read_parameter_sets(listed) == [{"n": 1, "label": "a"}, {"n": 2, "label": "b"}]
    assert read_parameter_sets(grid) == [
        {"n": 1, "label": "a", "seed": 7},
        {"n": 1, "label": "b", "seed": 7},
        {"n": 2, "label": "a", "seed": 7},
        {"n": 2, "label": "b", "seed": 7},
    ]
    assert read_parameter_sets(table) == [  # Excel's BOM, text that only looks like numbers
        {"n": 1, "label": "a", "rate": 0.5, "note": None},
        {"n": 2, "label": "007", "rate": 0.001, "note": "x\ny"},
        {"n": -3, "label": "nan", "rate": "1_000", "note": None},
    ]


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("bad.yaml", "n: [1, 2\n", "not valid YAML at line"),
        ("scalar.yaml", "7\n", "must hold a YAML list of mappings"),
        ("empty.yaml", "[]\n", "holds no parameter sets"),
        ("name.yaml", "- {1n: 3}\n", "not a Python name"),
        ("keyword.yaml", "- {class: 3}\n", "not a Python name"),
        ("null.yaml", "- {null: 3}\n", "not a Python name"),
        ("rows.csv", "n,label\n1\n", "row 2 has 1 values for 2 names"),
        ("params.json", "{}", "give a .yaml, .yml or .csv file"),
    ],
)
def test_a_bad_parameter_file_is_one_line_naming_it(
    tmp_path: Path, name: str, text: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ParameterError) as raised:
        read_parameter_sets(path)
    message = str(raised.value)
    assert says in message and str(path) in message and "\n" not in message


def test_each_job_has_its_own_output_name(tmp_path: Path) -> None:
    jobs = plan_jobs([Path("a.ipynb"), Path("b.ipynb")], [{"n": 1}, {"n": 2}], tmp_path)
    assert [job.output.name for job in jobs] == [
        "a-n=1.ipynb", "a-n=2.ipynb", "b-n=1.ipynb", "b-n=2.ipynb",
    ]  # fmt: skip
    assert slug({"path": "data/x y.csv"}) != slug({"path": "data/x-y.csv"})
    assert slug({"a": "1"}) != slug({"a": 1})  # text that reads as another set's slug
    assert slug({"a": "1_b=2"}) != slug({"a": 1, "b": 2})
    assert len(slug({"text": "long " * 100})) < 100
    with pytest.raises(ParameterError, match="remove the repeat"):
        plan_jobs([Path("a.ipynb")], [{"n": 1}, {"n": 1}], tmp_path)
    with pytest.raises(ParameterError, match="two notebooks are named a.ipynb"):
        plan_jobs([Path("x/a.ipynb"), Path("y/a.ipynb")], None, tmp_path)
    with pytest.raises(ParameterError, match="would be the notebook"):  # -o its own folder
        plan_jobs([tmp_path / "a.ipynb"], None, tmp_path)


def test_without_dask_one_line_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    monkeypatch.chdir(workdir)
    assert cli_main(["batch", "alpha.ipynb", "-o", "out"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "pip install 'jupyter-agents[batch]'" in error
    assert not (workdir / "out").exists()


# -- real clusters ---------------------------------------------------------------------------


@pytest.mark.kernel
def test_two_notebooks_by_three_parameter_sets_then_a_resume(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str]
) -> None:
    script.script(*[reply(workdir / "markers")] * 6)
    result = batch(*COMMAND, *MODEL, env=env, cwd=workdir)
    assert result.returncode == 0, result.stderr
    outdir = workdir / "out"
    names = sorted(path.name for path in outdir.glob("*.ipynb"))
    assert names == [f"{nb}-n={n}.ipynb" for nb in ("alpha", "beta") for n in (1, 2, 3)]
    for name in names:
        nb = nbformat.read(outdir / name, as_version=4)
        nbformat.validate(nb)
        assert metadata_errors(nb) == []
        n = int(name.split("=")[1].split(".")[0])
        injected = nb.cells[1]
        assert injected.metadata["tags"] == ["injected-parameters"]
        assert f"n = {n}" in injected.source
        assert nb.metadata["papermill"]["parameters"] == {"n": n}
        steps = [c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]
        assert len(steps) == 1 and "final_answer(n * 10)" in steps[0].source
        last = "".join(output.get("text", "") for output in nb.cells[-1].outputs)
        assert last == "jsonschema imported: False\n", (name, nb.cells[-1].outputs)
        assert steps[0].metadata["jupyter_agents"]["status"] == "auto"
    rows = summary_rows(outdir)
    jobs, total = rows[:-1], rows[-1]
    assert len(jobs) == 6 and total["notebook"] == "TOTAL" and "6 done" in total["status"]
    for row in jobs:
        n = json.loads(row["parameters"])["n"]
        assert row["status"] == "done" and json.loads(row["answers"]) == [n * 10]
        assert row["steps"] == "1" and int(row["tokens"]) > 0 and row["attempts"] == "1"
        assert row["worker"].startswith("tcp://127.0.0.1:") and float(row["seconds"]) > 0
    summary = json.loads((outdir / "summary.json").read_text())
    assert summary["totals"]["done"] == 6 and len(summary["jobs"]) == 6
    assert "finished" in result.stderr and "jobs/min" in result.stderr

    # The same batch again: every job is complete, so none runs.
    calls = len(script.requests)
    again = batch(*COMMAND, *MODEL, env=env, cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert "0 job(s) to run" in again.stderr and len(script.requests) == calls
    assert [row["status"] for row in summary_rows(outdir)[:-1]] == ["skipped"] * 6

    # One output deleted: only that job runs again.
    (outdir / "beta-n=2.ipynb").unlink()
    script.script(reply(workdir / "markers"))
    third = batch(*COMMAND, *MODEL, env=env, cwd=workdir)
    assert third.returncode == 0, third.stderr
    assert "1 job(s) to run" in third.stderr and len(script.requests) == calls + 1
    statuses = {row["output"]: row["status"] for row in summary_rows(outdir)[:-1]}
    assert statuses.pop("beta-n=2.ipynb") == "done"
    assert set(statuses.values()) == {"skipped"}


@pytest.mark.kernel
def test_a_killed_worker_s_job_runs_again_on_another(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str]
) -> None:
    markers = workdir / "markers"
    script.script(*[reply(markers, sleep=4)] * 12)
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_agents.cli", "batch", *COMMAND, *MODEL],
        env=env, cwd=workdir, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(markers.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        victim, kernel = map(int, next(markers.iterdir()).name.split("-"))
        os.kill(victim, signal.SIGKILL)  # the worker process running that job
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    rows = summary_rows(workdir / "out")[:-1]
    assert len(list((workdir / "out").glob("*-n=*.ipynb"))) == 6
    assert all(row["status"] == "done" for row in rows)
    retried = [row for row in rows if row["attempts"] == "2"]
    assert retried, "the summary shows no retry"
    assert all(row["worker"] != "" for row in rows)
    _no_kernel_left(markers, victim)


@pytest.mark.kernel
def test_a_job_whose_kernel_dies_runs_again(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str]
) -> None:
    """The first attempt's kernel kills itself mid-step; the retry's runs to the answer."""
    marker = workdir / "markers" / "died-once"
    dies_once = code(
        "import os, pathlib, signal\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "final_answer(n * 10)"
    )
    script.script(dies_once, dies_once)
    (workdir / "one.yaml").write_text("- {n: 4}\n")
    result = batch("alpha.ipynb", "--params", "one.yaml", "-o", "out", *MODEL, env=env, cwd=workdir)
    assert result.returncode == 0, result.stderr
    (row,) = summary_rows(workdir / "out")[:-1]
    assert (row["status"], row["attempts"], json.loads(row["answers"])) == ("done", "2", [40])
    assert marker.exists() and len(script.requests) == 2

    # With no retries left, the same death is a failed job, in one line, and exit status 1.
    marker.unlink()
    script.script(dies_once)
    again = batch(
        "alpha.ipynb", "--params", "one.yaml", "-o", "out", "--retries", "0", "--force", *MODEL,
        env=env, cwd=workdir,
    )  # fmt: skip
    assert again.returncode == 1, again.stderr
    (row,) = summary_rows(workdir / "out")[:-1]
    assert (row["status"], row["attempts"]) == ("failed", "1")
    assert "DeadKernelError" in row["error"] and "\n" not in row["error"]
    assert (workdir / "out" / "alpha-n=4.failed.ipynb").exists()
    assert not (workdir / "out" / "alpha-n=4.ipynb").exists()


def _no_kernel_left(markers: Path, killed: int) -> None:
    """Kernels of the killed worker notice their parent is gone and exit (ipykernel's parent
    poller); nothing of the batch keeps running."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = subprocess.run(["pgrep", "-P", str(killed)], capture_output=True, text=True)
        if not alive.stdout.strip():
            return
        time.sleep(0.5)
    raise AssertionError(f"processes of the killed worker are still running: {alive.stdout}")


@pytest.mark.kernel
def test_ctrl_c_keeps_what_finished_and_exits_130(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str]
) -> None:
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group, the local cluster's
    workers included, which leave it to the batch (no traceback from them)."""
    script.script(*[reply(workdir / "markers", sleep=3)] * 6)
    one_worker = [*COMMAND[:-2], "--workers", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_agents.cli", "batch", *one_worker, *MODEL],
        env=env, cwd=workdir, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    outdir = workdir / "out"
    try:
        deadline = time.monotonic() + 180
        while not _done_rows(outdir) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "stopped by Ctrl-C" in stderr and "Traceback" not in stderr, stderr
    finished = list(outdir.glob("*-n=*.ipynb"))
    assert 1 <= len(finished) < 6
    statuses = [row["status"] for row in summary_rows(outdir)[:-1]]
    assert statuses.count("done") == len(finished) and "cancelled" in statuses


def _done_rows(outdir: Path) -> int:
    try:
        jobs = json.loads((outdir / "summary.json").read_text())["jobs"]
    except (OSError, ValueError):
        return 0
    return sum(job["status"] == "done" for job in jobs)


@pytest.mark.kernel
@pytest.mark.parametrize(
    "problem", ["malformed params", "no parameters cell", "closed port", "not a scheduler address"]
)
def test_bad_input_is_one_line_before_any_job_starts(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str], problem: str
) -> None:
    args = list(COMMAND)
    if problem == "malformed params":
        (workdir / "grid.yaml").write_text("n: [1, 2\n")
    elif problem == "no parameters cell":
        nb = nbformat.read(workdir / "beta.ipynb", as_version=4)
        del nb.cells[0].metadata["tags"]
        nbformat.write(nb, workdir / "beta.ipynb")
    elif problem == "closed port":
        args = [*args[:-2], "--scheduler", f"tcp://127.0.0.1:{_closed_port()}"]
    else:
        args = [*args[:-2], "--scheduler", "http://127.0.0.1:8786"]
    result = batch(*args, *MODEL, env=env, cwd=workdir, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("jupyter agents batch: "), result.stderr
    assert not list((workdir / "out").glob("*.ipynb")) if (workdir / "out").exists() else True
    assert script.requests == []


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.kernel
def test_a_cluster_of_your_own_by_its_scheduler_address(
    script: ScriptedLLMServer, workdir: Path, env: dict[str, str]
) -> None:
    """``dask scheduler`` and ``dask worker`` started as a user would, then ``--scheduler``."""
    dask = str(Path(sys.executable).parent / "dask")
    port = _closed_port()
    address = f"tcp://127.0.0.1:{port}"
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", ":0", "--no-show"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        started.append(
            subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                env=env,
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
        script.script(*[reply(workdir / "markers")] * 3)
        result = batch(
            "alpha.ipynb", "--params", "grid.yaml", "-o", "out", "--scheduler", address, *MODEL,
            env=env, cwd=workdir,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"3 job(s) to run on {address}" in result.stderr
        rows = summary_rows(workdir / "out")[:-1]
        assert [(row["status"], json.loads(row["answers"])) for row in rows] == [
            ("done", [10]), ("done", [20]), ("done", [30]),
        ]  # fmt: skip
        assert {row["worker"] for row in rows} != {""}
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
