"""The batch's progress on the terminal: counts, jobs per minute, and the time left.

On a terminal the line is rewritten in place; in a log (not a TTY) a line is printed each
time a count changes, so a long batch leaves a readable record without repeating itself.
"""

from __future__ import annotations

import time
from typing import TextIO


class BatchProgress:
    """Shows ``finished/total``, running and failed counts, the rate, and an estimate left."""

    def __init__(self, total: int, stream: TextIO, skipped: int = 0) -> None:
        self.total = total
        self.skipped = skipped
        self._stream = stream
        self._started = time.monotonic()
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last = ""

    def show(self, finished: int, running: int, failed: int) -> None:
        """``finished`` counts this batch's jobs that ended (failed ones included)."""
        line = self.line(finished, running, failed)
        if self._tty:
            self._stream.write("\r" + line.ljust(len(self._last)))
            self._stream.flush()
        elif line.split(",")[:3] != self._last.split(",")[:3]:
            print(line, file=self._stream, flush=True)
        self._last = line

    def line(self, finished: int, running: int, failed: int) -> str:
        done = self.skipped + finished
        minutes = (time.monotonic() - self._started) / 60
        rate = finished / minutes if minutes > 0 else 0.0
        left = self.total - done
        if left == 0:
            estimate = "all finished"
        elif rate > 0:
            estimate = f"about {_duration(left / rate * 60)} left"
        else:
            estimate = "time left unknown yet"
        skipped = f" ({self.skipped} done earlier)" if self.skipped else ""
        return (
            f"batch: {done}/{self.total} finished{skipped}, {running} running, {failed} failed, "
            f"{rate:.1f} jobs/min, {estimate}"
        )

    def end(self) -> None:
        if self._tty and self._last:
            self._stream.write("\n")
            self._stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
