"""Flushing the kernel's output streams only when they hold text not yet sent.

ipykernel's ``OutStream.flush()`` hands the send to the kernel's IO thread and waits for it:
a thread round trip on every call, even with nothing buffered. Routing a step's outputs (the
widget's Output, the notebook's capture) needs the streams flushed as the routing starts and
ends, four flushes a step that mostly have nothing to send. A stream marks itself when a
write schedules a send (``_flush_pending``), so an unmarked one is skipped; a stream without
the mark (not ipykernel's) is always flushed.
"""

from __future__ import annotations

import sys


def flush_pending_streams() -> None:
    """Flush stdout and stderr if they hold unsent text, so it goes out before what follows."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "_flush_pending", True):
            stream.flush()
