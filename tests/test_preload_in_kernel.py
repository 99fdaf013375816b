"""``%load_ext`` imports litellm in the background: the user's cells go on, a failure waits.

Each test starts a fresh kernel, since the point is what happens before litellm is imported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import start_kernel
from tests.support.kernel import KernelHarness
from tests.support.llm_server import ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

PRELOADING = (
    "any(t.name == 'jupyter-agents-preload' and t.is_alive() for t in threading.enumerate())"
)


def wait_for_preload(kernel: KernelHarness) -> None:
    def done() -> bool:
        run = kernel.execute(f"import threading\nprint({PRELOADING})")
        return run.stdout.strip() == "False"

    kernel.wait_for(done, 60, "the background import to end")


def test_a_cell_importing_pandas_beside_the_background_import_runs_normally(
    llm: ScriptedLLMServer, script: ScriptedLLMServer, tmp_path: Path
):
    kernel = start_kernel(llm, tmp_path)
    try:
        before = kernel.execute("import sys, threading\nprint('litellm' in sys.modules)")
        assert before.stdout.strip() == "False"  # the test starts with litellm not imported
        loaded = kernel.execute(
            "%load_ext jupyter_agents\n"
            f"preloading = {PRELOADING}\n"
            "import pandas as pd, numpy as np\n"
            "print(preloading, pd.DataFrame({'a': np.arange(4)}).a.sum())"
        )
        assert loaded.status == "ok", loaded.error_text
        assert loaded.stdout.strip() == "True 6"  # it ran beside the import, and correctly
        assert loaded.stderr == ""
        wait_for_preload(kernel)
        imported = kernel.execute("print('litellm' in sys.modules)")
        assert imported.stdout.strip() == "True"

        script.script(code("total = 2 + 2\nprint(total)"), code("final_answer(total)"))
        run = kernel.execute(
            "%agent --approve auto --model openai/scripted Add two and two", timeout=60
        )
        assert run.status == "ok", run.error_text
        assert run.result == "4"
    finally:
        kernel.shutdown()


def test_a_failed_background_import_is_reported_by_the_first_run_not_before(
    llm: ScriptedLLMServer, tmp_path: Path
):
    kernel = start_kernel(llm, tmp_path)
    try:
        loaded = kernel.execute(
            "import sys\nsys.modules['litellm'] = None  # litellm cannot be imported\n"
            "%load_ext jupyter_agents"
        )
        assert loaded.status == "ok", loaded.error_text
        wait_for_preload(kernel)
        assert kernel.execute("print('quiet')").stdout == "quiet\n"  # nothing printed since
        assert loaded.stdout == "" and loaded.stderr == ""

        run = kernel.execute(
            "%agent --approve auto --model openai/scripted Add two and two", timeout=60
        )
        assert run.status == "error"
        assert "litellm" in run.error_text
    finally:
        kernel.shutdown()


def test_the_background_import_can_be_turned_off(llm: ScriptedLLMServer, tmp_path: Path):
    kernel = start_kernel(llm, tmp_path, JUPYTER_AGENTS_PRELOAD="0")
    try:
        loaded = kernel.execute(
            f"%load_ext jupyter_agents\nimport sys, threading\nprint({PRELOADING})"
        )
        assert loaded.stdout.strip() == "False"
        assert kernel.execute("print('litellm' in sys.modules)").stdout.strip() == "False"
    finally:
        kernel.shutdown()
