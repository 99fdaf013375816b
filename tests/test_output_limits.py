"""Output limits on agent cells, in a real kernel: each output is cut to ``max_output_bytes``
before it leaves the kernel, with a visible note, and the model's observation stays within
its own budget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from jupyter_agents.notebook.frontend import NotebookFrontend
from tests.conftest import PREPARE, kernel_env
from tests.support.kernel import KernelHarness, attached_notebook
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

AGENT_CELL = "output-agent-cell"
LIMIT = 20_000

FLOOD = """\
import sys
from IPython.display import display
line = 'x' * 99
for i in range(20_000):  # 2 MB
    print(line)
for i in range(1_000):  # 50 KB
    print('e' * 49, file=sys.stderr)
display({'image/png': 'A' * 3_000_000, 'text/plain': '<a huge image>'}, raw=True)
display({'text/plain': 'a small display'}, raw=True)
'y' * 1_000_000"""


@pytest.fixture
def limited(agent_kernel: KernelHarness) -> Iterator[KernelHarness]:
    assert agent_kernel.execute(f"%agent_config max_output_bytes={LIMIT}").status == "ok"
    yield agent_kernel
    agent_kernel.execute("%agent_config max_output_bytes=")


@pytest.fixture
def notebook(limited: KernelHarness) -> Iterator[NotebookFrontend]:
    with attached_notebook(limited, [new_code_cell("%agent ...", id=AGENT_CELL)]) as frontend:
        yield frontend


def test_each_output_in_the_notebook_is_cut_with_a_note(
    limited: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    script.script(code(FLOOD, "Print a lot."), code("final_answer('done')"))
    run = limited.execute("%agent --approve auto Flood", cell_id=AGENT_CELL, timeout=120)
    assert run.status == "ok", run.error_text

    step = next(
        c for c in notebook.notebook.cells if c.metadata.get("jupyter_agents", {}).get("step") == 1
    )
    streams = {o["name"]: o["text"] for o in step.outputs if o["output_type"] == "stream"}
    for name, text in streams.items():
        assert len(text.encode()) < LIMIT + 500, name
        assert f"[jupyter-agents: {name} cut here." in text and "max_output_bytes" in text
    assert streams["stdout"].startswith("x" * 99 + "\n")
    assert streams["stderr"].startswith("e" * 49 + "\n")

    displays = [o for o in step.outputs if o["output_type"] == "display_data"]
    huge, small = displays
    assert list(huge["data"]) == ["text/plain"]
    assert huge["data"]["text/plain"].startswith("<a huge image>\n[jupyter-agents: this output had")
    assert "Left out: image/png (3,000,000 bytes)" in huge["data"]["text/plain"]
    assert small["data"] == {"text/plain": "a small display"}  # under the limit: untouched

    [result] = [o for o in step.outputs if o["output_type"] == "execute_result"]
    value = result["data"]["text/plain"]
    assert value.startswith("'yyyy") and len(value) < LIMIT + 500
    assert "more than max_output_bytes" in value
    nbformat.validate(notebook.notebook)

    # The model's view has its own, smaller budget, and says how much it did not see.
    told = script.requests[1].last_user_text
    assert len(told) < 12_000
    assert "characters" in told and "cut ..." in told
    assert "image/png" in told  # the display is described from what the cell displayed

    # The limit applies to agent cells only: the user's own cells print in full.
    mine = limited.execute("print('m' * 50_000)")
    assert mine.stdout == "m" * 50_000 + "\n"


def test_an_error_with_a_huge_message_is_cut_too(
    limited: KernelHarness, notebook: NotebookFrontend, script: ScriptedLLMServer
):
    # ipykernel sends error outputs itself, past the display hooks.
    huge = "def fail(depth):\n    if depth == 0:\n        raise ValueError('v' * 5_000_000)\n"
    huge += "    fail(depth - 1)\nfail(40)"
    script.script(code(huge, "Fail loudly."), code("final_answer('done')"))
    run = limited.execute("%agent --approve auto Fail", cell_id=AGENT_CELL, timeout=120)
    assert run.status == "ok", run.error_text

    step = next(
        c for c in notebook.notebook.cells if c.metadata.get("jupyter_agents", {}).get("step") == 1
    )
    [error] = [o for o in step.outputs if o["output_type"] == "error"]
    assert error["ename"] == "ValueError"
    assert len(error["evalue"].encode()) < LIMIT + 500
    assert "[jupyter-agents: error message cut here." in error["evalue"]
    assert len("".join(error["traceback"]).encode()) < LIMIT + 500
    assert "traceback cut here" in "".join(error["traceback"])
    assert "ValueError" in error["traceback"][-1]  # the end, where the error is, is kept
    assert len(script.requests[1].last_user_text) < 12_000


def test_in_the_widget_too(limited: KernelHarness, script: ScriptedLLMServer):
    script.script(code("for i in range(5_000):\n    print('w' * 99)"), code("final_answer(1)"))
    older = set(limited.widgets)
    run = limited.execute("%agent --approve auto Flood the widget", timeout=120)
    assert run.status == "ok", run.error_text
    limited.wait_for(
        lambda: any(
            "stdout cut here" in o.get("text", "")
            for w in limited.widgets.values()
            if w.comm_id not in older
            for o in w.captured
        ),
        30,
        "the note in the step's output",
    )
    captured = "".join(
        o.get("text", "")
        for w in limited.find_widgets("OutputModel")
        if w.comm_id not in older
        for o in w.captured
    )
    assert captured.startswith("w" * 99) and len(captured) < LIMIT + 500


def test_zero_means_no_limit(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    agent_kernel.execute("%agent_config max_output_bytes=0")
    try:
        script.script(code("print('n' * 1_500_000)"), code("final_answer('printed')"))
        older = set(agent_kernel.widgets)
        run = agent_kernel.execute("%agent --approve auto Print", timeout=120)
    finally:
        agent_kernel.execute("%agent_config max_output_bytes=")
    assert run.status == "ok", run.error_text

    def printed() -> int:
        return sum(
            o.get("text", "").count("n")
            for w in agent_kernel.find_widgets("OutputModel")
            if w.comm_id not in older
            for o in w.captured
        )

    agent_kernel.wait_for(lambda: printed() == 1_500_000, 30, "all 1.5 MB in the output")


def test_output_written_to_the_file_descriptor_counts_too(llm: ScriptedLLMServer, tmp_path: Path):
    """A subprocess writes to fd 1, which ipykernel forwards into the same stream.

    ipykernel forwards file descriptors only outside pytest (it checks PYTEST_CURRENT_TEST),
    so this kernel gets an environment without it, as a user's kernel has.
    """
    env = kernel_env(llm, tmp_path)
    env.pop("PYTEST_CURRENT_TEST", None)
    kernel = KernelHarness(env, cwd=str(tmp_path))
    try:
        prepared = kernel.execute(PREPARE + f"%agent_config max_output_bytes={LIMIT}", timeout=120)
        assert prepared.status == "ok", prepared.error_text
        llm.reset()
        child = (
            "import subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', \"print('z' * 300_000)\"])"
        )
        llm.script(code(child), code("final_answer('ran')"))
        run = kernel.execute("%agent --approve auto Run a child process", timeout=120)
        assert run.status == "ok", run.error_text

        def printed() -> str:
            outputs = [o for w in kernel.find_widgets("OutputModel") for o in w.captured]
            return "".join(o.get("text", "") for o in [*outputs, *run.outputs])

        kernel.wait_for(lambda: "stdout cut here" in printed(), 30, "the note")
        # The child can finish while up to one pipe buffer (64 KiB) is still unread; all that
        # was read while the cell ran counts against the limit.
        shown = printed().count("z")
        assert shown < 100_000, f"{shown:,} bytes of the child's output were kept"
    finally:
        kernel.shutdown()
