"""Running the measures: shared resources, one measure at a time, failures recorded.

A measure that fails does not stop the others; its error goes into the report and the command
exits non-zero. Resources several measures share (the scripted model server, one prepared
kernel) are started once and stopped at the end.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import machine
from .config import Config
from .kernels import ScriptedLLMServer, start_agent_kernel
from .report import Measure

MODULES = {
    "overhead": "benchmarks.overhead",
    "execution": "benchmarks.execution",
    "context": "benchmarks.context_size",
    "startup": "benchmarks.startup",
    "browser": "benchmarks.browser_latency",
    "undo": "benchmarks.undo_cost",
    "batch": "benchmarks.batch_throughput",
}


def smolagents_version() -> str | None:
    """smolagents' version if it can be imported, else None (then only our side runs)."""
    if importlib.util.find_spec("smolagents") is None:
        return None
    from importlib.metadata import version

    return version("smolagents")


@dataclass
class Context:
    """What the measures share."""

    config: Config
    workdir: Path
    server: ScriptedLLMServer
    smolagents: str | None
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True)
    _kernel: Any = None
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def agent_kernel(self) -> Any:
        """One prepared kernel (extension loaded, litellm imported), started on first use."""
        if self._kernel is None:
            self._kernel = start_agent_kernel(self.server, self.directory("agent-kernel"))
            self._stops.append(self._kernel.shutdown)
        self.server.reset()
        return self._kernel

    def directory(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # shutting down; nothing to report that the results need
                pass


def run_suite(config: Config, log: Callable[[str], None] | None = None) -> list[Measure]:
    with tempfile.TemporaryDirectory(prefix="jupyter-agents-bench-") as workdir:
        with ScriptedLLMServer() as server:
            compared = smolagents_version() if config.compare else None
            ctx = Context(config, Path(workdir), server, compared)
            if log is not None:
                ctx.log = log
            try:
                return [_run_measure(ctx, key) for key in config.measures]
            finally:
                ctx.close()


def _run_measure(ctx: Context, key: str) -> Measure:
    ctx.log(f"== {key}")
    load_before = machine.load()
    started = time.perf_counter()
    try:
        measure = importlib.import_module(MODULES[key]).run(ctx)
    except Exception:
        measure = Measure(key, key, error=traceback.format_exc())
        ctx.log(measure.error)
    measure.seconds = time.perf_counter() - started
    measure.load = [load_before, machine.load()]
    ctx.log(f"== {key} took {measure.seconds:.1f} s")
    return measure
