"""litellm imported in the background from ``%load_ext``, so the first ``%agent`` does not wait.

Importing litellm takes seconds (its provider modules, response types and model tables), and
its first call imports more, as do the run's widgets (ipywidgets). A person rarely types
``%agent`` within seconds of loading the extension, so a daemon thread does that work in
between. It shares the CPU with the person's cells for those seconds. An import a cell makes
meanwhile waits for the thread's under Python's import locks; but a module that swaps itself
in ``sys.modules`` while it loads (``pygments.lexers`` does) can fail a concurrent import, so
a run waits for the thread to end before it starts (``run.runner.run_context``). litellm's
log records from the thread are dropped: they would land in whatever cell is running. If the
import fails, the first run imports litellm itself and reports the error there, in its cell.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading

from .model import load_litellm

#: ``JUPYTER_AGENTS_PRELOAD=0`` turns the background import off (the first run then pays it).
DISABLE_VARIABLE = "JUPYTER_AGENTS_PRELOAD"
THREAD_NAME = "jupyter-agents-preload"

_thread: threading.Thread | None = None
_lock = threading.Lock()


class _FromPreload(logging.Filter):
    """Drops the records the preload thread logs (litellm's import warnings, say)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


#: litellm's loggers (its verbose, router and proxy loggers).
LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def start_preload() -> threading.Thread | None:
    """Start the background import once per process; the thread, or None when turned off."""
    global _thread
    if os.environ.get(DISABLE_VARIABLE, "1").strip() == "0":
        return None
    with _lock:
        if _thread is None:
            quiet = _FromPreload()
            for name in LITELLM_LOGGERS:
                logging.getLogger(name).addFilter(quiet)
            _thread = threading.Thread(target=_preload, name=THREAD_NAME, daemon=True)
            _thread.start()
    return _thread


def finish_preload(timeout: float = 60.0) -> None:
    """Wait for the background import to end (before a run's first model call)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)


#: What a first run imports besides litellm. Not pygments (the widgets' code highlighting):
#: ``pygments.lexers`` swaps itself in ``sys.modules`` while it loads, so a traceback IPython
#: formats in a user's cell meanwhile could fail to import it.
FIRST_RUN_MODULES = (
    "ipywidgets",
    "jupyter_agents.ui.plain_view",
    "jupyter_agents.ui.switchable_view",
    "jupyter_agents.notebook.bridge",
)


def _preload() -> None:
    try:
        litellm = load_litellm()
        # The first call's own lazy imports (streaming, response types), with no request
        # sent: litellm answers a mock_response itself.
        reply = litellm.completion(
            model="openai/preload",
            messages=[{"role": "user", "content": "."}],
            mock_response=".",
            stream=True,
        )
        for _chunk in reply:
            pass
    except BaseException:  # noqa: BLE001 - reported by the first run's own import, in its cell
        return
    for name in FIRST_RUN_MODULES:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the run imports it again and says what failed
            continue
    try:  # httpx's async transport runs on anyio: its asyncio backend, on a loop of our own
        import anyio

        anyio.run(anyio.sleep, 0)
    except BaseException:  # noqa: BLE001
        return
