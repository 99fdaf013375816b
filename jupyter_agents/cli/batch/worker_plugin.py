"""What the local cluster's workers do differently: leave Ctrl-C to the batch process.

Ctrl-C at the terminal reaches every process of its group, the local cluster's workers
included; but stopping a batch is the batch process's job (it cancels the jobs, keeps what
finished and closes the cluster), and a worker that took the signal too would only print a
traceback. The jobs' kernels are unaffected: ipykernel sets its own SIGINT handling, which
is how a cell is interrupted. Imported only where Dask is installed.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed import WorkerPlugin


class IgnoreCtrlC(WorkerPlugin):
    """Registered on a local cluster only: a cluster of your own keeps its signal handling."""

    def setup(self, worker: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
