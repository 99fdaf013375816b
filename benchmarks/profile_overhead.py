"""``python -m benchmarks.profile_overhead``: where our per-step overhead goes.

Runs the overhead measure's 10-step task (instant scripted model, ``--approve auto``, the
widget frontend, or with ``--notebook`` also the notebook protocol) under cProfile inside a
real kernel, after one unprofiled warm-up run, and prints the functions with the most
cumulative and own time. Not part of the suite: it is the
evidence behind the hot spots named in benchmarks/README.md, kept so it can be re-run.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .kernels import ScriptedLLMServer, agent_line, check, ours_reply, start_agent_kernel
from .overhead import AGENT_CELL, TASK, cells

PROFILED = """\
import cProfile as _bench_cprofile
_bench_profile = _bench_cprofile.Profile()
_bench_profile.enable()
"""
REPORT = """\
_bench_profile.disable()
import io as _bench_io, pstats as _bench_pstats
_bench_out = _bench_io.StringIO()
_bench_stats = _bench_pstats.Stats(_bench_profile, stream=_bench_out)
_bench_stats.sort_stats("cumulative").print_stats({limit})
_bench_stats.sort_stats("tottime").print_stats({limit})
print(_bench_out.getvalue())
"""


def main(limit: int = 45, steps: int = 10, notebook: bool = False) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_agents.notebook.frontend import NotebookFrontend

    plan = cells(steps)
    with tempfile.TemporaryDirectory() as home, ScriptedLLMServer() as server:
        kernel = start_agent_kernel(server, Path(home))
        try:
            for profiled in (False, True):
                server.reset()
                server.script(*(ours_reply(thought, code) for thought, code in plan))
                if profiled:
                    # One cell: the profiler must be on while the %agent coroutine runs.
                    check(kernel.execute(PROFILED), "starting the profiler")
                line = agent_line(TASK, steps)
                if notebook:
                    document = new_notebook(cells=[new_code_cell(line, id=AGENT_CELL)])
                    kernel.notebook = NotebookFrontend(document, client="benchmark")
                run = kernel.execute(line, timeout=120, cell_id=AGENT_CELL if notebook else None)
                kernel.notebook = None
                check(run, "the agent run")
            print(check(kernel.execute(REPORT.format(limit=limit)), "the report").stdout)
        finally:
            kernel.shutdown()


if __name__ == "__main__":
    arguments = [arg for arg in sys.argv[1:] if arg != "--notebook"]
    main(*(int(arg) for arg in arguments), notebook="--notebook" in sys.argv)
