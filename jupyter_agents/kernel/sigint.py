"""The one SIGINT chain of a run: who sees the kernel's interrupt, in which order.

Three parts of a run need the interrupt, and they nest:

1. the run (:meth:`jupyter_agents.kernel.control.RunControl.watching_sigint`), for as long as
   it lasts: it notes the interrupt and cancels the loop's task;
2. a synchronous agent cell (:mod:`jupyter_agents.kernel.executor`): the interrupt raises
   ``KeyboardInterrupt`` inside the cell's code;
3. a cell's time limit (:mod:`jupyter_agents.kernel.time_limit`): the signals its timer sent
   become ``CellTimeout``; any other goes down the chain.

Each part pushes a layer with :func:`sigint_layer`. One dispatcher is installed while any layer
is active: it calls the innermost layer, which decides whether to call the one below (its
``below`` argument). Under the outermost layer is the handler that was installed before the
run, usually ipykernel's, which cancels an awaiting cell. When the last layer leaves, that
handler is put back. Layers may leave in any order (a cell's task can end after the run's).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: A layer: ``(signum, frame, below)``; ``below()`` passes the signal down the chain.
SigintLayer = Callable[[int, "FrameType | None", Callable[[], None]], None]

_layers: list[SigintLayer] = []
_bottom: Any = None


def _call_bottom(signum: int, frame: FrameType | None) -> None:
    """What SIGINT did before the run: a handler, Python's default, or nothing."""
    if callable(_bottom):
        _bottom(signum, frame)
    elif _bottom == signal.SIG_DFL:
        raise KeyboardInterrupt


def _dispatch(signum: int, frame: FrameType | None) -> None:
    _call_from(len(_layers) - 1, signum, frame)


def _call_from(index: int, signum: int, frame: FrameType | None) -> None:
    if index < 0:
        _call_bottom(signum, frame)
        return
    layer = _layers[index]
    layer(signum, frame, lambda: _call_from(index - 1, signum, frame))


@contextmanager
def sigint_layer(layer: SigintLayer) -> Iterator[bool]:
    """Put ``layer`` on top of the chain while the block runs.

    Yields whether it is active: signals reach only the main thread, so elsewhere (a run in
    another thread) nothing is installed and the block runs without it.
    """
    global _bottom
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    if not _layers:
        _bottom = signal.getsignal(signal.SIGINT)
    if signal.getsignal(signal.SIGINT) is not _dispatch:  # (re)install: a cell may have replaced it
        signal.signal(signal.SIGINT, _dispatch)
    _layers.append(layer)
    try:
        yield True
    finally:
        _remove(layer)
        if not _layers:
            signal.signal(signal.SIGINT, _bottom)
            _bottom = None


def _remove(layer: SigintLayer) -> None:
    """Take ``layer`` (this very object, the innermost if pushed twice) off the chain."""
    for index in range(len(_layers) - 1, -1, -1):
        if _layers[index] is layer:
            del _layers[index]
            return
