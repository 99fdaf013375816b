"""A real JupyterLab server and a real browser (Debian Chromium driven by Playwright).

The server runs on 127.0.0.1 with a token, in a temporary root directory, with its own
settings and workspace directories so nothing from the machine leaks in (and no news
pop-up covers the notebook). Its kernels inherit the environment given here, which points
litellm at the scripted loopback model server.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    app: str = "jupyterlab"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        if self.app == "notebook":  # Notebook 7: one document per page
            return f"{self.url}/notebooks/{name}?token={self.token}"
        # reset: don't restore the tabs an earlier test left open.
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, path: str, body: Any = None) -> Any:
        """Call the server's REST API (POST when ``body`` is given)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            data=data,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def start_session(self, notebook: str) -> None:
        """Start the notebook's kernel up front, so JupyterLab attaches without a dialog."""
        self.api(
            "sessions",
            {"path": notebook, "name": notebook, "type": "notebook", "kernel": {"name": "python3"}},
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_lab(
    home: Path, env: dict[str, str], app: str = "jupyterlab", extra_args: Sequence[str] = ()
) -> LabServer:
    """Start JupyterLab (``app="jupyterlab"``) or Notebook 7 (``app="notebook"``), with
    ``extra_args`` appended to its command line (e.g. ``--GatewayClient.url=...``)."""
    root = home / "root"
    root.mkdir(parents=True, exist_ok=True)
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = free_port(), secrets.token_hex(16)
    log = home / "jupyterlab.log"
    server_env = {
        **env,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    app_class = "JupyterNotebookApp" if app == "notebook" else "LabApp"
    command = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        # window.jupyterapp, so tests can run commands as the menus do.
        f"--{app_class}.expose_app_in_browser=True",
    ]
    if app == "jupyterlab":
        command.append("--LabApp.news_url=")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI machines run as root
    command.extend(extra_args)
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=server_env, stdout=output, stderr=subprocess.STDOUT)
    server = LabServer(root, port, token, process, log, app)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app} exited early:\n{log.read_text()[-3000:]}")
        try:
            server.api("status")
            return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{app} did not start within 60 s:\n{log.read_text()[-3000:]}")


def launch_browser(playwright: Any) -> Any:
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextmanager
def running_lab(
    home: Path, env: dict[str, str], app: str = "jupyterlab", extra_args: Sequence[str] = ()
) -> Iterator[LabServer]:
    """A JupyterLab (or Notebook 7) server for the block, stopped afterwards."""
    server = start_lab(home, env, app=app, extra_args=extra_args)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, for the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(
    browser: Any, request: Any, height: int, servers: dict[str, LabServer]
) -> Iterator[Any]:
    """A fresh page; if the test fails, its screenshot and the servers' logs are kept in
    test-artifacts/ (named after the test), to see what the browser showed."""
    from tests.support.screenshots import ARTIFACTS

    context = browser.new_context(viewport={"width": 1280, "height": height})
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            for server in servers.values():
                shutil.copy(server.log, ARTIFACTS / f"{request.node.name}-jupyterlab.log")
        context.close()
