"""The agent on a remote kernel: JupyterLab started with ``--GatewayClient.url`` pointing at a
real ``jupyter kernelgateway``, in a real browser.

The agent runs inside the kernel, so everything it needs travels over the kernel's channels
(execute requests, widget and notebook-protocol comms, interrupts), which JupyterLab proxies to
the gateway. The test proves the kernel really is the gateway's (its parent process is the
gateway, it has ``KERNEL_GATEWAY=1``, its working directory is the gateway's) and that the
approval flow, the provenance written by the extension, the kernel's stop button and a kernel
restart work there as they do locally. It also pins down which environment variables reach a
gateway kernel, as the README says: the gateway's own only when listed in
``KG_ENV_PROCESS_WHITELIST``, JupyterLab's only when prefixed ``KERNEL_``.

Opening a notebook through the gateway sometimes leaves its kernel connection unusable, which
is not this project's doing (README, "Remote kernels"): JupyterLab's first websocket asks for a
subprotocol the gateway proxy does not speak and is refused, and jupyter_server does not close
the upstream connection it had started for it. That connection has the notebook's session id;
when it reaches the kernel first, the kernel ignores the real one. A reload (a new session id)
is the user's remedy, and the test's: at most three page loads.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from jupyter_agents.notebook.schema import metadata_errors
from tests.conftest import _LEAKY_PREFIXES, kernel_env
from tests.support.lab import LabServer, browser_page, free_port, running_lab
from tests.support.llm_server import ScriptedLLMServer
from tests.support.notebooks import write_python_notebook
from tests.support.replies import code
from tests.support.screenshots import ARTIFACTS
from tests.test_browser import (
    RUNS_IN_PAGE,
    SETUP_CELL,
    cell_output,
    cells,
    pending_cell,
    run_cell,
    save,
    widget_button,
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
expect.set_options(timeout=15_000)  # a loaded 2-core machine: see tests/test_browser.py

pytestmark = pytest.mark.browser

#: The kernel-side variables the gateway passes on from its own environment. The scripted
#: model server's address and key are among them: without them the agent could not run.
PASSED_ON = (
    "OPENAI_API_BASE",
    "OPENAI_API_KEY",
    "LITELLM_LOCAL_MODEL_COST_MAP",
    "IPYTHONDIR",
    "MPLBACKEND",
    "GATEWAY_MARKER",
)

#: Prints what the kernel knows about where it runs, as one JSON line the test reads.
WHERE_AM_I = """\
import json as _json, os as _os
print('kernel:', _json.dumps({
    'ppid': _os.getppid(),
    'gateway': _os.environ.get('KERNEL_GATEWAY'),
    'marker': _os.environ.get('GATEWAY_MARKER'),
    'not_listed': _os.environ.get('GATEWAY_NOT_LISTED'),
    'from_lab': _os.environ.get('KERNEL_FROM_LAB'),
    'lab_only': _os.environ.get('LAB_ONLY'),
    'cwd': _os.getcwd(),
    'home': 'HOME' in _os.environ,
}))"""

KERNEL_READY = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const context = panel && panel.sessionContext;
    const kernel = context && context.session && context.session.kernel;
    return Boolean(context && context.isReady && kernel
        && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}"""


@dataclass
class Gateway:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    cwd: Path

    def kernel_ids(self) -> list[str]:
        request = urllib.request.Request(
            f"{self.url}/api/kernels", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return [kernel["id"] for kernel in json.loads(response.read())]


@pytest.fixture(scope="module")
def gateway(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """``jupyter kernelgateway`` on 127.0.0.1 with a token; its kernels get the scripted model
    server's address from the gateway's environment (listed in KG_ENV_PROCESS_WHITELIST)."""
    home = tmp_path_factory.mktemp("gateway")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **kernel_env(llm, home),
        "KG_AUTH_TOKEN": token,
        "KG_ENV_PROCESS_WHITELIST": ",".join(PASSED_ON),
        "GATEWAY_MARKER": "gateway-only",
        "GATEWAY_NOT_LISTED": "must not reach the kernel",
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = home / "kernelgateway.log"
    command = [
        sys.executable,
        "-m",
        "kernel_gateway",
        "--KernelGatewayApp.ip=127.0.0.1",
        f"--KernelGatewayApp.port={port}",
        "--KernelGatewayApp.port_retries=0",
        # JupyterLab lists the kernels it runs (GET /api/kernels), forbidden by default.
        "--JupyterWebsocketPersonality.list_kernels=True",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=home, stdout=output, stderr=subprocess.STDOUT
        )
    server = Gateway(f"http://127.0.0.1:{port}", token, process, log, home)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"kernelgateway exited early:\n{log.read_text()[-3000:]}")
            try:
                server.kernel_ids()
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    log_tail = log.read_text()[-3000:]
                    raise RuntimeError(f"kernelgateway did not start:\n{log_tail}") from error
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def lab(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab whose kernels are the gateway's. Its own environment has no model settings
    (a local kernel could not reach the scripted model), only a ``KERNEL_`` variable the
    gateway client forwards and one it must not."""
    home = tmp_path_factory.mktemp("gateway-lab")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env.update(
        JUPYTER_GATEWAY_AUTH_TOKEN=gateway.token, KERNEL_FROM_LAB="forwarded", LAB_ONLY="kept"
    )
    with running_lab(home, env, extra_args=[f"--GatewayClient.url={gateway.url}"]) as server:
        yield server


@pytest.fixture
def page(browser, request: pytest.FixtureRequest, lab: LabServer, gateway: Gateway):
    with browser_page(browser, request, 1100, {"lab": lab}) as page:
        try:
            yield page
        finally:
            report = getattr(request.node, "report_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                target = ARTIFACTS / f"{request.node.name}-kernelgateway.log"
                target.write_text(gateway.log.read_text())


def open_notebook(page, lab: LabServer, name: str, sources: list[str]) -> None:
    """Open a notebook whose kernel the gateway starts; reload while the kernel connection
    hangs (the upstream race in the module's docstring)."""
    write_python_notebook(lab.root / name, sources)
    lab.start_session(name)
    for _ in range(3):
        page.goto(lab.notebook_url(name))
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        expect(cells(page).first).to_be_visible(timeout=60_000)
        try:
            page.wait_for_function(KERNEL_READY, timeout=20_000)
            return
        except playwright_api.TimeoutError:
            print("the kernel connection hung at opening (see the module docstring): reloading")
    raise AssertionError("the notebook's kernel connection never became ready in 3 page loads")


def kernel_facts(page, index: int) -> dict:
    text = cell_output(page, index).inner_text()
    return json.loads(re.search(r"kernel: (\{.*\})", text).group(1))


def session_kernel_id(page) -> str:
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
    )


def test_an_agent_session_on_a_gateway_kernel(
    page, lab: LabServer, gateway: Gateway, script: ScriptedLLMServer
):
    """One notebook, one kernel (importing litellm in a kernel takes seconds): a run approved
    in the browser, a run ended by the kernel's stop button (a REST call JupyterLab forwards
    to the gateway, which signals the kernel), and a run ended by a restart, which the
    gateway performs."""
    script.script(
        code("gateway_x = 21 * 2\nprint('step one:', gateway_x)", "Compute the value."),
        code("final_answer(gateway_x)", "Return it."),
        code("print('started', flush=True)\nimport time\ntime.sleep(120)", "Wait."),
        code("restarted_x = 1", "Never approved."),
    )
    sources = [
        f"{SETUP_CELL}\n{WHERE_AM_I}",
        "%agent Compute gateway_x",
        "print('x =', gateway_x)",
        "%agent Wait a long time",
        "%agent Wait for me",
        WHERE_AM_I,
    ]
    open_notebook(page, lab, "gateway.ipynb", sources)
    # The notebook's kernel is one the gateway started, not one of JupyterLab's.
    kernel_id = session_kernel_id(page)
    assert kernel_id in gateway.kernel_ids()
    for index in range(3):  # queued in the kernel; the agent's cells go in below cell 1
        run_cell(page, index)

    expect(cell_output(page, 0)).to_contain_text("kernel:", timeout=60_000)
    assert kernel_facts(page, 0) == {
        "ppid": gateway.process.pid,  # a child of the gateway process
        "gateway": "1",
        "marker": "gateway-only",  # the gateway's variables listed in KG_ENV_PROCESS_WHITELIST
        "not_listed": None,  # ... and no others
        "from_lab": "forwarded",  # JupyterLab's KERNEL_* variables
        "lab_only": None,  # ... and no others
        "cwd": str(gateway.cwd),  # the gateway's files, not the notebook's folder
        "home": False,  # not even HOME is passed on
    }

    # 1. Approved in the browser: the proposals are notebook cells, filled when approved.
    proposal = pending_cell(page)
    expect(proposal).to_have_count(1, timeout=60_000)
    expect(cells(page).nth(2)).to_have_class(re.compile("jp-agents-pending"))
    expect(proposal).to_contain_text("gateway_x = 21 * 2")
    widget_button(page, "Approve").click()
    first = cells(page).nth(2)
    expect(first).to_have_class(re.compile("jp-agents-approved"), timeout=30_000)
    expect(first.locator(".jp-Cell-outputArea")).to_contain_text("step one: 42", timeout=30_000)
    expect(pending_cell(page)).to_have_count(1, timeout=30_000)
    widget_button(page, "Approve").click()
    expect(cell_output(page, 1)).to_contain_text("Done. Final answer: 42", timeout=30_000)
    expect(cell_output(page, 4)).to_contain_text("x = 42", timeout=30_000)

    # 2. The kernel's stop button while an approved cell runs.
    run_cell(page, 5)
    expect(pending_cell(page)).to_contain_text("time.sleep(120)", timeout=30_000)
    widget_button(page, "Approve").click()
    expect(cell_output(page, 6)).to_contain_text("started", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:interrupt-kernel')")
    expect(cell_output(page, 5)).to_contain_text("RunInterrupted", timeout=30_000)
    expect(cell_output(page, 5)).to_contain_text("at step 1")

    # 3. A restart while a proposal waits: the pending cell goes, the run is recorded.
    run_cell(page, 7)
    expect(pending_cell(page)).to_contain_text("restarted_x = 1", timeout=30_000)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    expect(pending_cell(page)).to_have_count(0, timeout=30_000)
    page.wait_for_function(
        f"() => ({RUNS_IN_PAGE})().filter(r => r.status === 'interrupted').length === 2"
    )
    # The same kernel, restarted by the gateway: the new process is the gateway's child.
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'"
    )
    run_cell(page, 8)
    expect(cell_output(page, 8)).to_contain_text("kernel:", timeout=30_000)
    assert kernel_facts(page, 8)["ppid"] == gateway.process.pid
    assert session_kernel_id(page) == kernel_id and kernel_id in gateway.kernel_ids()
    assert len(script.requests) == 4

    # The notebook, saved by JupyterLab (local files, remote kernel), holds the provenance.
    save(page)
    saved = nbformat.read(lab.root / "gateway.ipynb", as_version=4)
    nbformat.validate(saved)
    assert metadata_errors(saved) == []
    completed, stopped, restarted = saved.metadata["jupyter_agents"]["runs"]
    assert completed["status"] == "completed" and completed["answer"] == {"json": 42}
    assert stopped["status"] == restarted["status"] == "interrupted"
    assert "kernel restarted" in restarted["error"] and "kernel restarted" not in stopped["error"]
    provenance = [cell.metadata.get("jupyter_agents") for cell in saved.cells]
    run_id = completed["run_id"]
    assert provenance[1] == {"run_id": run_id, "prompt": True}
    assert [p["step"] for p in provenance[2:4]] == [1, 2]
    assert all(p["status"] == "approved" and p["run_id"] == run_id for p in provenance[2:4])
    assert saved.cells[2].source == "gateway_x = 21 * 2\nprint('step one:', gateway_x)"
    assert provenance[6]["run_id"] == stopped["run_id"] and provenance[6]["interrupted"] is True
    assert [cell.source for cell in saved.cells if cell.metadata.get("jupyter_agents") is None] == [
        sources[0],
        sources[2],
        sources[5],
    ]
