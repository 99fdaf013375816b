"""litellm imported in the background from ``%load_ext``, so the first ``%agent`` does not wait.

Importing litellm takes seconds (its provider modules, response types and model tables), and
its first call imports more. A person rarely types ``%agent`` within seconds of loading the
extension, so a daemon thread does that work in between. It shares the CPU with the person's
cells for those seconds and nothing else: an import that a cell makes at the same time waits
for, or runs beside, the thread's under Python's own import locks. The thread prints nothing.
If it fails, the first run imports litellm itself and reports the error there, in its cell.
"""

from __future__ import annotations

import os
import threading

from .model import load_litellm

#: ``JUPYTER_AGENTS_PRELOAD=0`` turns the background import off (the first run then pays it).
DISABLE_VARIABLE = "JUPYTER_AGENTS_PRELOAD"
THREAD_NAME = "jupyter-agents-preload"

_thread: threading.Thread | None = None
_lock = threading.Lock()


def start_preload() -> threading.Thread | None:
    """Start the background import once per process; the thread, or None when turned off."""
    global _thread
    if os.environ.get(DISABLE_VARIABLE, "1").strip() == "0":
        return None
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_preload, name=THREAD_NAME, daemon=True)
            _thread.start()
    return _thread


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
