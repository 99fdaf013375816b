"""Our side's plumbing: the scripted model server and real kernels pointed at it.

The suite drives jupyter-agents exactly as the test suite does (tests/support): a real IPython
kernel through jupyter_client, whose widgets are answered the way a browser answers them, and
a loopback OpenAI-compatible server reached through litellm's real HTTP client. Nothing here
mocks the product.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests/support lives in the repository, not in the package
    sys.path.insert(0, str(REPO))

from tests.support.kernel import CellRun, KernelHarness  # noqa: E402
from tests.support.llm_server import ScriptedLLMServer  # noqa: E402

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MODEL = "openai/scripted"
#: Variables that would let the machine's own configuration leak into a benchmark kernel.
LEAKY_PREFIXES = ("JUPYTER_AGENTS_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "LITELLM_", "IPYTHON")

#: A user's first cell, plus litellm imported up front so a measure does not pay for it once.
PREPARE = f"""\
%load_ext jupyter_agents
%agent_config model={MODEL} model_retries=0
import jupyter_agents.agent.model
jupyter_agents.agent.model.load_litellm()
"""

#: Prints the last run's result as JSON (what ``jupyter_agents.last_run()`` records).
LAST_RUN = """\
import json as _bench_json, jupyter_agents as _bench_ja
_bench_run = _bench_ja.last_run()
print(_bench_json.dumps({
    "status": str(_bench_run.status),
    "error": _bench_run.error,
    "duration": _bench_run.duration,
    "steps": [
        {
            "number": s.number,
            "status": str(s.status),
            "error": s.error,
            "observation": s.observation,
            "model_seconds": s.timings.model_seconds,
            "waiting_seconds": s.timings.waiting_seconds,
            "execution_seconds": s.timings.execution_seconds,
        }
        for s in _bench_run.steps
    ],
}))
"""


def kernel_env(base_url: str, home: Path, **extra: str) -> dict[str, str]:
    """A clean kernel environment: no user config; the scripted server stands in for OpenAI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY_PREFIXES)}
    (home / "ipython").mkdir(parents=True, exist_ok=True)
    env.update(
        IPYTHONDIR=str(home / "ipython"),
        OPENAI_API_BASE=base_url,
        OPENAI_API_KEY="sk-bench",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def start_kernel(
    server: ScriptedLLMServer, home: Path, widget_frontend: bool = True
) -> KernelHarness:
    """A fresh kernel, nothing loaded yet; its client answers widgets as a browser does,
    unless ``widget_frontend`` is False (plain nbclient, papermill)."""
    home.mkdir(parents=True, exist_ok=True)
    env = kernel_env(server.base_url, home)
    return KernelHarness(env, cwd=str(home), widget_frontend=widget_frontend)


def start_agent_kernel(
    server: ScriptedLLMServer, home: Path, prepare: str = PREPARE
) -> KernelHarness:
    """A kernel with the extension loaded and the scripted model configured."""
    kernel = start_kernel(server, home)
    check(kernel.execute(prepare, timeout=120), "preparing the kernel")
    return kernel


def check(run: CellRun, what: str) -> CellRun:
    """Fail loudly, with the kernel's own words, when a cell did not succeed."""
    if run.status != "ok":
        detail = run.error_text or run.stderr or run.stdout
        raise RuntimeError(f"{what} failed in the kernel:\n{detail[-3000:]}")
    return run


def printed_json(kernel: KernelHarness, code: str, timeout: float = 60) -> Any:
    """Run ``code`` (which prints one JSON document as its last line) and return it."""
    run = check(kernel.execute(code, timeout=timeout), "reading results")
    return json.loads(run.stdout.strip().splitlines()[-1])


def last_run(kernel: KernelHarness) -> dict[str, Any]:
    """The last agent run in ``kernel``, as :data:`LAST_RUN` reports it."""
    return printed_json(kernel, LAST_RUN)


def agent_line(task: str, steps: int) -> str:
    """The ``%agent`` cell for an unattended run of at most ``steps`` steps."""
    return f"%agent --approve auto --max-steps {steps} {task}"


def ours_reply(thought: str, code: str) -> str:
    """A reply in the format our system prompt asks for: a thought, one python block."""
    return f"{thought}\n```python\n{code}\n```"
