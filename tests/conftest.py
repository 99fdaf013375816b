"""Shared fixtures: the scripted loopback model server and real kernels pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# litellm, imported by some tests in this process, must not try to download its price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.support.kernel import KernelHarness  # noqa: E402
from tests.support.llm_server import ScriptedLLMServer  # noqa: E402

#: Variables that would let the machine's own configuration leak into a test kernel.
_LEAKY_PREFIXES = ("JUPYTER_AGENTS_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "LITELLM_", "IPYTHON")


@pytest.fixture(autouse=True)
def every_notebook_is_valid(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every notebook a test's frontend wrote into is checked afterwards against nbformat's
    schema and jupyter-agents' own (``metadata_errors``), whatever the test asserted."""
    import nbformat

    from jupyter_agents.notebook.frontend import NotebookFrontend
    from jupyter_agents.notebook.schema import metadata_errors

    made: list[NotebookFrontend] = []
    original = NotebookFrontend.__init__

    def recording_init(self: NotebookFrontend, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(NotebookFrontend, "__init__", recording_init)
    yield
    for frontend in made:
        nbformat.validate(frontend.notebook)
        assert metadata_errors(frontend.notebook) == [], "a test produced an invalid notebook"


@pytest.fixture(scope="session")
def llm() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def script(llm: ScriptedLLMServer) -> Iterator[ScriptedLLMServer]:
    """The model server with an empty script and request log for this test."""
    llm.reset()
    yield llm
    llm.reset()


def kernel_env(llm: ScriptedLLMServer, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a test kernel: no user config, the scripted server as OpenAI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    (home / "ipython").mkdir(parents=True, exist_ok=True)
    env.update(
        IPYTHONDIR=str(home / "ipython"),
        OPENAI_API_BASE=llm.base_url,
        OPENAI_API_KEY="sk-test",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    env.update(extra)
    return env


def start_kernel(
    llm: ScriptedLLMServer, home: Path, widget_frontend: bool = True, **env: str
) -> KernelHarness:
    home.mkdir(parents=True, exist_ok=True)
    return KernelHarness(
        kernel_env(llm, home, **env), cwd=str(home), widget_frontend=widget_frontend
    )


PREPARE = """\
%load_ext jupyter_agents
%agent_config model=openai/scripted model_retries=1
import jupyter_agents, jupyter_agents.agent.model
jupyter_agents.agent.model.load_litellm()
"""


@pytest.fixture(scope="module")
def agent_kernel(
    llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelHarness]:
    """A kernel with the extension loaded, a browser-like widget frontend and a model set.

    Shared by a module's tests (starting a kernel and importing litellm takes seconds); each
    test uses its own variable names. litellm is imported up front, silently, so the first
    test does not pay for it.
    """
    kernel = start_kernel(llm, tmp_path_factory.mktemp("agent-kernel"))
    try:
        prepared = kernel.execute(PREPARE, timeout=120)
        assert prepared.status == "ok", prepared.outputs
        yield kernel
    finally:
        kernel.shutdown()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell whether it failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium through Playwright, one per test module that drives a browser."""
    from tests.support.lab import chromium

    with chromium() as browser:
        yield browser
