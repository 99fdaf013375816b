"""A kernel that a cell shut down must really exit, or every client waits on it forever.

``exit()``, ``quit()`` and ``get_ipython().kernel.do_shutdown(...)`` in a cell only stop the
kernel's event loop; the process then waits for its non-daemon threads before it exits. A
worker thread the model client started (anyio's, for httpx) waits on that stopped loop and
never ends, so the process lives on: the heartbeat still beats and nothing answers. After an
agent cell asked for a shutdown, a daemon thread ends the process once the loop has stopped
and it has not exited by itself; clients then see a dead kernel (nbclient's
``DeadKernelError``, JupyterLab's restart prompt).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

#: How long the process may take to exit by itself once its event loop has stopped.
GRACE_SECONDS = 3.0
#: How long the event loop may take to stop after the shutdown request.
STOP_SECONDS = 30.0


def exit_when_stuck(loop: asyncio.AbstractEventLoop) -> None:
    """End the process if ``loop`` stops and the process does not exit within the grace."""
    thread = threading.Thread(
        target=_watch, args=(loop,), name="jupyter-agents kernel exit", daemon=True
    )
    thread.start()


def _watch(loop: asyncio.AbstractEventLoop) -> None:
    deadline = time.monotonic() + STOP_SECONDS
    while loop.is_running():
        if time.monotonic() > deadline:
            return  # the shutdown was cancelled (exit_now reset): the kernel lives on
        time.sleep(0.1)
    time.sleep(GRACE_SECONDS)
    os._exit(0)  # still here: a thread waits on the stopped loop; exit as asked
