"""``jupyter agents run | replay | export`` as a user runs them: a real subprocess, real
kernels, nbclient, and the scripted loopback model reached through litellm."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_agents._version import __version__
from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import kernel_env
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import cli_environment, python_notebook
from tests.support.replies import code

pytestmark = pytest.mark.kernel


def cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 180):
    return subprocess.run(
        [sys.executable, "-m", "jupyter_agents.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    nb = python_notebook(
        [
            new_markdown_cell("# Totals"),
            new_code_cell("%load_ext jupyter_agents"),
            new_code_cell("cli_rows = [3, 4, 5]"),
            new_code_cell("%agent Add up cli_rows and describe them", id="prompt"),
            new_code_cell("print('after:', cli_total)", id="mine"),
        ]
    )
    nbformat.write(nb, tmp_path / "totals.ipynb")
    return tmp_path


@pytest.fixture
def env(llm: ScriptedLLMServer, tmp_path: Path) -> dict[str, str]:
    return cli_environment(kernel_env(llm, tmp_path / "home"))


def script_run(script: ScriptedLLMServer) -> None:
    script.script(
        code("cli_total = sum(cli_rows)\nprint('total', cli_total)", "Sum them."),
        code("import pandas as pd\nsummary = pd.Series(cli_rows).describe()\nsummary", "Describe."),
        code("final_answer(cli_total)", "Done."),
    )


def test_run_then_replay_reproduces_without_a_model(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    ran = cli(
        "run", "totals.ipynb", "--model", "openai/scripted", "--approve", "auto",
        "-o", "ran.ipynb", env=env, cwd=workdir,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "[4/4]" in ran.stderr and "step 2: auto" in ran.stderr and "run completed" in ran.stderr
    assert "tokens so far" in ran.stderr and "run running" not in ran.stderr
    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    nbformat.validate(nb)
    assert metadata_errors(nb) == []
    steps = [c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]
    assert [c.source.splitlines()[0] for c in steps] == [
        "cli_total = sum(cli_rows)",
        "import pandas as pd",
        "final_answer(cli_total)",
    ]
    assert steps[0].outputs[0]["text"] == "total 12\n"
    assert nb.cells[-1].outputs[0]["text"] == "after: 12\n"  # the user's cell ran once, after
    requests = len(script.requests)

    replay = cli("replay", "ran.ipynb", "-o", "replayed.ipynb", env=env, cwd=workdir)

    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert len(script.requests) == requests, "replay must not call a model"
    assert "replay will execute 7 code cell(s)" in replay.stdout
    assert "reproduced: all 3 agent cell(s) match the record." in replay.stdout
    replayed = nbformat.read(workdir / "replayed.ipynb", as_version=4)
    assert metadata_errors(replayed) == []
    prompt = next(c for c in replayed.cells if c.id == "prompt")
    assert any("12" in json.dumps(o.get("data", {})) for o in prompt.outputs)  # recorded answer


def test_a_tampered_output_makes_replay_fail_and_name_the_cell(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    index, cell = next(
        (i, c) for i, c in enumerate(nb.cells) if c.source.startswith("cli_total = sum")
    )
    cell.outputs[0]["text"] = "total 13\n"
    nbformat.write(nb, workdir / "ran.ipynb")

    replay = cli("replay", "ran.ipynb", env=env, cwd=workdir)

    assert replay.returncode == 1
    assert f"cell {index} (agent step 1, auto, id {cell.id})" in replay.stdout
    assert "recorded stdout 'total 13', now stdout 'total 12'" in replay.stdout


def test_replay_skips_agent_cells_not_recorded_as_approved(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    hostile = next(c for c in nb.cells if c.source.startswith("import pandas"))
    hostile.source = "open('pwned.txt', 'w').write('x')"
    hostile.metadata["jupyter_agents"]["status"] = "pending"
    nbformat.write(nb, workdir / "ran.ipynb")

    replay = cli("replay", "ran.ipynb", env=env, cwd=workdir)

    assert "NOT executed (recorded as pending)" in replay.stdout
    assert not (workdir / "pwned.txt").exists()
    assert replay.returncode == 0, replay.stdout


def test_run_without_auto_replays_recorded_cells_and_refuses_new_ones(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    # A fresh agent cell needs a person to approve its cells: run says how to go on.
    fresh = cli("run", "totals.ipynb", "--model", "openai/scripted", env=env, cwd=workdir)
    assert fresh.returncode == 1
    assert "`jupyter agents run` has nobody to ask: add --approve auto" in fresh.stderr
    assert script.requests == []

    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    requests = len(script.requests)

    # Running the recorded notebook again (default policy, no model) replays it.
    again = cli("run", "ran.ipynb", "-o", "again.ipynb", env=env, cwd=workdir)

    assert again.returncode == 0, again.stderr
    assert len(script.requests) == requests
    nb = nbformat.read(workdir / "again.ipynb", as_version=4)
    prompt = next(c for c in nb.cells if c.id == "prompt")
    assert "not calling a model" in json.dumps(prompt.outputs)
    assert nb.cells[-1].outputs[0]["text"] == "after: 12\n"


FAKE_KEY = "sk-proj-FAKEFAKEFAKEFAKEFAKE1234"
FAKE_ENV_SECRET = "correct-horse-battery-staple-42"
KEY_PARTS = "'sk-proj-' + 'FAKE' * 5 + '1234'"  # the key, without writing it in the cell


def test_secrets_agent_cells_print_stay_out_of_run_and_replay_notebooks(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    # An agent cell prints a secret environment variable, displays a key and raises with it.
    env = {**env, "WAREHOUSE_PASSWORD": FAKE_ENV_SECRET}
    script.script(
        code("import os\nprint('password:', os.environ['WAREHOUSE_PASSWORD'])", "Look."),
        code(
            f"from IPython.display import HTML, display\nkey = {KEY_PARTS}\n"
            "display(HTML(f'<b>{key}</b>'))\nraise ValueError(f'rejected key {key}')",
            "Show.",
        ),
        code(
            "cli_total = sum(cli_rows)\n"
            "final_answer(f\"{cli_total}, {os.environ['WAREHOUSE_PASSWORD']}\")",
            "Done.",
        ),
    )
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    ran = cli("run", "totals.ipynb", *args, env=env, cwd=workdir)
    assert ran.returncode == 0, ran.stderr

    saved = (workdir / "ran.ipynb").read_text()
    for secret in (FAKE_ENV_SECRET, FAKE_KEY):
        at = saved.find(secret)
        assert at < 0, saved[at - 300 : at + 100]
    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    looked, shown = [c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})][:2]
    assert looked.outputs[0]["text"] == "password: [redacted]\n"
    assert "<b>[redacted]</b>" in shown.outputs[0]["data"]["text/html"]
    assert shown.outputs[1]["evalue"] == "rejected key [redacted]"
    prompt = next(c for c in nb.cells if c.id == "prompt")  # its answer, shown as its result
    assert "'12, [redacted]'" in json.dumps(prompt.outputs)

    # Replayed as ordinary code, the recorded cells print the same redacted text: the record
    # is reproduced, and the re-executed notebook holds no secret either.
    replay = cli("replay", "ran.ipynb", "-o", "replayed.ipynb", env=env, cwd=workdir)

    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "reproduced: all 3 agent cell(s) match the record." in replay.stdout
    replayed = (workdir / "replayed.ipynb").read_text()
    assert FAKE_ENV_SECRET not in replayed and FAKE_KEY not in replayed
    assert "password: [redacted]" in replayed


def test_a_section_above_the_running_cell_grows_and_no_cell_is_lost(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    # nbclient puts each cell back at the index it had before it ran; the agent cell inserts
    # its cells above itself here, so that index points at another cell by then.
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_code_cell("%load_ext jupyter_agents", id="load"),
        new_markdown_cell("## Analysis", id="analysis"),
        new_code_cell("sec_values = [1, 2, 3]", id="values"),
        new_markdown_cell("## Report", id="report"),
        new_code_cell("print('report cell')", id="report-cell"),
        new_code_cell("%agent --section Analysis Compute the mean", id="prompt"),
        new_code_cell("print('after', sec_mean)", id="after"),
    ]
    nbformat.write(nb, tmp_path / "sections.ipynb")
    script.script(
        code("sec_mean = sum(sec_values) / len(sec_values)", "Mean."),
        code("final_answer(sec_mean)", "Done."),
    )
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    ran = cli("run", "sections.ipynb", *args, env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr

    out = nbformat.read(tmp_path / "ran.ipynb", as_version=4)
    nbformat.validate(out)
    ids = [cell.id for cell in out.cells]
    agent = [c.id for c in out.cells if "step" in c.metadata.get("jupyter_agents", {})]
    assert len(agent) == 2 and len(set(ids)) == len(ids)
    assert ids == ["load", "analysis", "values", *agent, "report", "report-cell", "prompt", "after"]
    assert out.cells[-1].outputs[0]["text"] == "after 2.0\n"


def test_a_notebook_from_before_cell_ids_is_recorded_and_replayed(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    old = json.loads((workdir / "totals.ipynb").read_text())
    old["nbformat_minor"] = 4  # format 4.4: cells have no ids
    for cell in old["cells"]:
        del cell["id"]
    (workdir / "old.ipynb").write_text(json.dumps(old))
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "old.ipynb", *args, env=env, cwd=workdir).returncode == 0

    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat_minor >= 5 and len({cell.id for cell in nb.cells}) == len(nb.cells)
    assert len([c for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]) == 3
    replay = cli("replay", "ran.ipynb", env=env, cwd=workdir)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "reproduced: all 3 agent cell(s) match the record." in replay.stdout


def test_bad_metadata_and_output_paths_are_refused_before_any_work(
    workdir: Path, env: dict[str, str]
):
    nb = nbformat.read(workdir / "totals.ipynb", as_version=4)
    nb.metadata["jupyter_agents"] = {"runs": "garbage"}
    nbformat.write(nb, workdir / "damaged.ipynb")
    for command in (["replay"], ["run"], ["export", "--html"]):
        result = cli(*command, "damaged.ipynb", env=env, cwd=workdir)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [
            f"jupyter agents {command[0]}: damaged.ipynb: its jupyter-agents metadata does not "
            "match the schema this version reads (notebook metadata at runs: 'garbage' is not "
            "of type 'array'). Fix or remove that metadata (see docs/notebook-format.md)."
        ]
    for command in (["run"], ["replay"], ["export", "--html"]):
        result = cli(*command, "totals.ipynb", "-o", "nowhere/out.ipynb", env=env, cwd=workdir)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().endswith(
            "cannot write nowhere/out.ipynb: there is no folder nowhere."
        )
    late = cli("run", "totals.ipynb", "--timeout", "nan", env=env, cwd=workdir)
    assert late.returncode == 2
    assert (
        late.stderr.strip()
        == "jupyter agents run: --timeout takes a number of seconds greater than 0."
    )


def test_a_huge_bad_metadata_value_is_reported_in_one_short_line(
    workdir: Path, env: dict[str, str]
):
    nb = nbformat.read(workdir / "totals.ipynb", as_version=4)
    nb.metadata["jupyter_agents"] = {"runs": "\x1b[2K" + "x" * 5_000_000}
    nbformat.write(nb, workdir / "damaged.ipynb")

    result = cli("replay", "damaged.ipynb", env=env, cwd=workdir)

    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert len(line) < 600 and "\x1b" not in line, line[:600]
    assert "xxx…xxx" in line and "xxx' is not of type 'array'). Fix or remove" in line


def test_ctrl_c_keeps_what_ran_and_says_it_was_stopped(tmp_path: Path, env: dict[str, str]):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_code_cell("print('first')"),
        new_code_cell("import time\ntime.sleep(60)"),
        new_code_cell("print('never')"),
    ]
    nbformat.write(nb, tmp_path / "slow.ipynb")
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        # Its own process group, as a terminal's foreground job: Ctrl-C reaches the kernel too.
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_agents.cli", "run", "slow.ipynb", "-o", "out.ipynb"],
            env=env, cwd=tmp_path, stderr=stderr, stdout=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "[2/3]" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # the sleeping cell has started
            os.killpg(process.pid, signal.SIGINT)
            assert process.wait(timeout=60) == 1
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)

    assert "execution of slow.ipynb stopped by Ctrl-C (or SIGTERM)." in log.read_text()
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["text"] == "first\n" and out.cells[2].outputs == []


def test_a_magic_that_fails_with_a_usage_error_fails_the_run_and_names_its_cell(
    tmp_path: Path, env: dict[str, str]
):
    # IPython prints a UsageError on stderr: no error output, but the cell did fail.
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_code_cell("%agent Add up the rows"),
        new_code_cell("%load_ext jupyter_agents"),
        new_code_cell("print('the rest ran')"),
    ]
    nbformat.write(nb, tmp_path / "early.ipynb")

    ran = cli("run", "early.ipynb", "-o", "out.ipynb", env=env, cwd=tmp_path)

    assert ran.returncode == 1, ran.stderr
    assert "cells with errors: 0\n" in ran.stderr
    assert "  cell 0: UsageError: Line magic function `%agent` not found.\n" in ran.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.cells[2].outputs[0]["text"] == "the rest ran\n"


def test_rerun_needs_an_explicit_auto_policy(workdir: Path, env: dict[str, str]):
    result = cli("run", "totals.ipynb", "--rerun", env=env, cwd=workdir)
    assert result.returncode == 2
    assert "--rerun asks a model again" in result.stderr and "--approve auto" in result.stderr


def test_run_rerun_replaces_the_runs_cells_only(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    script.script(code("cli_total = 99"), code("final_answer(cli_total)"))

    rerun = cli("run", "totals.ipynb", *args, "--rerun", env=env, cwd=workdir)

    assert rerun.returncode == 0, rerun.stderr
    nb = nbformat.read(workdir / "totals.ipynb", as_version=4)
    steps = [c.source for c in nb.cells if "step" in c.metadata.get("jupyter_agents", {})]
    assert steps == ["cli_total = 99", "final_answer(cli_total)"]
    assert [c.source for c in nb.cells if not c.metadata.get("jupyter_agents")] == [
        "# Totals",
        "%load_ext jupyter_agents",
        "cli_rows = [3, 4, 5]",
        "print('after:', cli_total)",
    ]
    assert nb.cells[-1].outputs[0]["text"] == "after: 99\n"
    assert len(nb.metadata["jupyter_agents"]["runs"]) == 1


LIMIT_CELL = (
    "import jupyter_agents\n"
    "print('limit:', jupyter_agents.session_settings().command_line['cell_timeout'])"
)


def test_an_agent_cell_that_never_ends_is_interrupted_and_the_run_goes_on(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    nb = nbformat.read(workdir / "totals.ipynb", as_version=4)
    nb.cells[-1].source = LIMIT_CELL
    nbformat.write(nb, workdir / "totals.ipynb")
    script.script(
        code("cli_total = sum(cli_rows)\nwhile True:\n    pass", "Sum, then loop."),
        code("cli_total = sum(cli_rows)\nfinal_answer(cli_total)", "Sum again, and answer."),
    )
    args = ("--model", "openai/scripted", "--approve", "auto", "--cell-timeout", "1")

    ran = cli("run", "totals.ipynb", *args, "-o", "ran.ipynb", env=env, cwd=workdir)

    assert ran.returncode == 0, ran.stderr
    assert "run completed" in ran.stderr
    out = nbformat.read(workdir / "ran.ipynb", as_version=4)
    first = next(c for c in out.cells if c.metadata.get("jupyter_agents", {}).get("step") == 1)
    assert [o.ename for o in first.outputs if o.output_type == "error"] == ["CellTimeout"]
    assert out.cells[-1].outputs[0]["text"] == "limit: 1.0\n"
    assert "time limit (1 s)" in script.requests[1].last_user_text
    assert metadata_errors(out) == []


def test_headless_runs_give_agent_cells_600_s_by_default(tmp_path: Path, env: dict[str, str]):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [new_code_cell("%load_ext jupyter_agents"), new_code_cell(LIMIT_CELL)]
    nbformat.write(nb, tmp_path / "limits.ipynb")

    ran = cli("run", "limits.ipynb", env=env, cwd=tmp_path)

    assert ran.returncode == 0, ran.stderr
    out = nbformat.read(tmp_path / "limits.ipynb", as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "limit: 600.0\n"


def test_export_strips_transcripts_and_writes_an_html_trace(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    assert "transcript" in nbformat.read(workdir / "ran.ipynb", 4).metadata.jupyter_agents.runs[0]

    stripped = cli(
        "export", "ran.ipynb", "--strip-transcripts", "-o", "s.ipynb", env=env, cwd=workdir
    )
    assert stripped.returncode == 0, stripped.stderr
    nb = nbformat.read(workdir / "s.ipynb", as_version=4)
    assert "transcript" not in nb.metadata.jupyter_agents.runs[0]
    assert metadata_errors(nb) == []

    trace = cli("export", "ran.ipynb", "--html", "-o", "trace.html", env=env, cwd=workdir)
    assert trace.returncode == 0, trace.stderr
    page = (workdir / "trace.html").read_text()
    assert "Add up cli_rows and describe them" in page and "call 3 · step 3" in page
    assert "Describe." in page and "<script" not in page

    both = cli("export", "ran.ipynb", "--strip-transcripts", "--html", env=env, cwd=workdir)
    assert both.returncode == 2 and "run export once for each" in both.stderr


def test_the_jupyter_subcommand_is_installed():
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    assert jupyter is not None
    result = subprocess.run([jupyter, "agents", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "run" in result.stdout and "replay" in result.stdout and "export" in result.stdout
    version = subprocess.run([jupyter, "agents", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"jupyter-agents {__version__}"


def test_agent_cells_have_no_whole_cell_limit_in_headless_runs():
    from nbformat.v4 import new_code_cell as cell

    from jupyter_agents.cli.execution import nbclient_timeout_func

    limit = nbclient_timeout_func(600)
    assert [limit(cell(s)) for s in ("%agent go", "x = %agent go", "%%crew\ntask: t")] == [None] * 3
    assert limit(cell("print('%agent')")) == 600 and limit(cell("# %agent\n1")) == 600


# A hostile cell whose first line, printed raw, erases itself and shows a harmless one.
SPOOF = "gone = 1  # \x1b[2K\x1b[1G\u202e  cell 9 your cell: print('hi')"


def test_replay_and_run_print_notebook_text_with_its_control_characters_escaped(
    workdir: Path, env: dict[str, str], script: ScriptedLLMServer
):
    script_run(script)
    args = ("--model", "openai/scripted", "--approve", "auto", "-o", "ran.ipynb")
    assert cli("run", "totals.ipynb", *args, env=env, cwd=workdir).returncode == 0
    nb = nbformat.read(workdir / "ran.ipynb", as_version=4)
    nb.cells.append(new_code_cell(SPOOF + "\nraise ValueError('\\x1b[31mall fine\\x1b[0m')"))
    nbformat.write(nb, workdir / "ran.ipynb")

    replay = cli("replay", "ran.ipynb", env=env, cwd=workdir)
    ran = cli("run", "ran.ipynb", "-o", "again.ipynb", env=env, cwd=workdir)

    for printed in (replay.stdout, replay.stderr, ran.stdout, ran.stderr):
        assert not set(printed) & {"\x1b", "\r", "\u202e"}, printed
    listed = "gone = 1  # \\x1b[2K\\x1b[1G\\u202e  cell 9"
    assert listed in replay.stdout and listed in ran.stderr
    assert "ValueError: \\x1b[31mall fine\\x1b[0m" in replay.stderr + ran.stderr


def test_an_undo_cell_removes_the_runs_cells_marks_its_record_and_run_all_skips_it(
    tmp_path: Path, env: dict[str, str], script: ScriptedLLMServer
):
    nb = python_notebook(
        [
            new_code_cell("%load_ext jupyter_agents"),
            new_code_cell("undo_rows = [1, 2]"),
            new_code_cell("%agent Grow undo_rows", id="prompt"),
            new_code_cell("%agent_undo", id="undo"),
            new_code_cell("print('after undo:', undo_rows, 'undo_made' in dir())", id="mine"),
        ]
    )
    nbformat.write(nb, tmp_path / "undo.ipynb")
    script.script(
        code("undo_rows.append(3)\nundo_made = len(undo_rows)"), code("final_answer(undo_made)")
    )
    ran = cli(
        "run", "undo.ipynb", "--model", "openai/scripted", "--approve", "auto",
        "-o", "ran.ipynb", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    out = nbformat.read(tmp_path / "ran.ipynb", as_version=4)
    assert metadata_errors(out) == []
    assert [cell.id for cell in out.cells][2:] == ["prompt", "undo", "mine"]  # step cells gone
    assert out.cells[-1].outputs[0]["text"] == "after undo: [1, 2] False\n"
    undo_text = out.cells[3].outputs[0]["text"]
    assert "Undid run" in undo_text and "2 cell(s) removed from the notebook" in undo_text
    record = out.metadata["jupyter_agents"]["runs"][0]
    assert "new files the cells created stay" in " ".join(record["undone"]["not_undone"])
    requests = len(script.requests)

    again = cli("run", "ran.ipynb", "-o", "again.ipynb", env=env, cwd=tmp_path)  # Run All
    assert again.returncode == 0, again.stderr
    assert len(script.requests) == requests, "an undone run is neither replayed nor re-asked"
    rerun = nbformat.read(tmp_path / "again.ipynb", as_version=4)
    assert "undone already: nothing to undo" in rerun.cells[3].outputs[0]["text"]
    assert rerun.cells[-1].outputs[0]["text"] == "after undo: [1, 2] False\n"

    replay = cli("replay", "ran.ipynb", env=env, cwd=tmp_path)
    assert replay.returncode == 2
    assert "has no recorded agent cells to check: its 1 agent run(s) were undone" in replay.stderr
