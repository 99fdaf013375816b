"""Executing a notebook without a browser, with agent cells written in as JupyterLab would.

:class:`AgentNotebookClient` is nbclient's ``NotebookClient`` plus the frontend side of the
notebook protocol (:class:`~jupyter_agents.notebook.frontend.NotebookFrontend`): when an
``%agent`` or ``%%crew`` cell runs, its steps, sections, outputs, provenance and run record
land in the notebook being executed. The cells that are in the notebook when execution
starts are the ones executed, in order; cells an agent inserts while it works already ran
(as its steps) and are not run a second time, and cells it removes (``--rerun``) are skipped.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import nbformat
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from ..core.records import (
    RunRecord,
    SectionMark,
    StepProvenance,
    cell_record,
    run_records,
    step_provenance,
)
from ..core.result import RunStatus
from ..kernel.time_limit import FAILED_INTERRUPTS, REPEAT_SECONDS
from ..notebook.frontend import NotebookFrontend
from ..notebook.protocol import HEADLESS_CLIENT, METADATA_KEY
from ..safety.redact import Redactor
from ..text.terminal_text import first_line, one_line

#: Beyond an agent cell's time limit and its interrupts, how long it may go on before the
#: kernel is killed: it ignored everything the kernel could do from inside.
STUCK_GRACE_SECONDS = 15.0

#: Statuses of agent cells a replay executes: what a person (or their auto policy) approved.


class AgentNotebookClient(NotebookClient):
    """nbclient that also answers the jupyter-agents notebook protocol."""

    def __init__(
        self,
        nb: nbformat.NotebookNode,
        *,
        settings: dict[str, Any] | None = None,
        should_run: Callable[[nbformat.NotebookNode], bool] | None = None,
        progress: TextIO | None = sys.stderr,
        **kwargs: Any,
    ) -> None:
        super().__init__(nb, **kwargs)
        self.frontend = NotebookFrontend(nb, client=HEADLESS_CLIENT, redact=Redactor())
        #: Settings forced in the kernel for every run (``command_line``, above %agent_config).
        self.forced_settings = dict(settings or {})
        self.should_run = should_run or (lambda cell: True)
        self.progress = progress
        self._cell_id: str | None = None
        #: True if Ctrl-C (or SIGTERM) ended the run: nbclient then shuts the kernel down,
        #: and what it raises (a dead kernel, an assertion) does not say so.
        self.stopped_by_signal = False
        self._running_cells = False
        #: ``ename: evalue`` of each cell whose execute reply said it failed, by cell id. A
        #: magic's UsageError (``%agent`` before ``%load_ext``) is only printed on stderr: the
        #: reply is the one place that says the cell failed.
        self.failed_cells: dict[str, str] = {}
        if self.on_cell_error is None:
            self.on_cell_error = self._note_failure
        #: Where the run was when it ended early, in one line ("cell 3, agent step 2").
        self.where = ""
        #: Why the client ended the run itself (a cell that ignored every interrupt).
        self.killed_because: str | None = None
        self._step_started: float | None = None

    # -- execution ------------------------------------------------------------------------------

    def execute(self, reset_kc: bool = False, **kwargs: Any) -> nbformat.NotebookNode:
        """Run the notebook (nbclient binds ``execute`` to its own ``async_execute``)."""
        return run_sync(self.async_execute)(reset_kc=reset_kc, **kwargs)

    async def async_execute(self, reset_kc: bool = False, **kwargs: Any) -> nbformat.NotebookNode:
        if reset_kc and self.owns_km:
            await self._async_cleanup_kernel()
        self.reset_execution_trackers()
        async with self.async_setup_kernel(**kwargs):
            assert self.kc is not None
            reply = await self.async_wait_for_reply(await _maybe_await(self.kc.kernel_info()))
            if reply is not None and "language_info" in reply["content"]:
                self.nb.metadata["language_info"] = reply["content"]["language_info"]
            await self._force_settings()
            self._send_cell_ids()
            planned = [cell for cell in self.nb.cells if cell.cell_type == "code"]
            self.nb.cells = CellsInPlace(self.nb.cells)
            self._running_cells = True
            try:
                for number, cell in enumerate(planned, start=1):
                    index = next((i for i, c in enumerate(self.nb.cells) if c is cell), None)
                    if index is None:  # removed by a re-run of the agent cell above it
                        continue
                    if not self.should_run(cell):
                        self._say(f"[{number}/{len(planned)}] skipped: {first_line(cell.source)}")
                        continue
                    self._say(f"[{number}/{len(planned)}] {first_line(cell.source)}")
                    self._cell_id = cell.get("id")
                    self.where = f"cell {index}"
                    self._step_started = None
                    await self._watched(
                        self.async_execute_cell(
                            cell, index, execution_count=self.code_cells_executed + 1
                        )
                    )
            finally:
                self._running_cells = False
                self.nb.cells = list(self.nb.cells)
            self.set_widgets_metadata()
        return self.nb

    def _stuck_after(self) -> float | None:
        """Seconds an agent step's cell may run before the kernel is killed (None: no limit)."""
        limit = self.forced_settings.get("cell_timeout")
        if not limit:
            return None
        return limit + (FAILED_INTERRUPTS + 1) * REPEAT_SECONDS + STUCK_GRACE_SECONDS

    async def _watched(self, execution: Any) -> None:
        """Run one cell; kill the kernel if an agent step's cell outlives its time limit and
        every interrupt (the kernel cannot end such a cell; nbclient then reports it dead)."""
        task = asyncio.ensure_future(execution)
        limit = self._stuck_after()
        while limit is not None and not task.done():
            await asyncio.wait({task}, timeout=1.0)
            started = self._step_started
            if started is not None and time.monotonic() - started > limit and not task.done():
                self.killed_because = (
                    f"{self.where}'s cell kept running after its time limit "
                    f"({self.forced_settings['cell_timeout']:g} s) and ignored every interrupt, "
                    "so the kernel was killed"
                )
                self._say(f"    {self.killed_because}")
                await _maybe_await(self.km.shutdown_kernel(now=True))
                break
        await task

    def _note_failure(
        self, cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict[str, Any]
    ) -> None:
        content = execute_reply.get("content", {})
        evalue = str(content.get("evalue", ""))
        error = f"{content.get('ename', 'Error')}: {evalue.strip()}".rstrip(": ")
        if cell.get("id"):
            self.failed_cells[cell.id] = error

    async def _async_cleanup_kernel(self) -> None:
        # nbclient's SIGINT/SIGTERM handler calls this while cells run; normally it comes after.
        if self._running_cells:
            self.stopped_by_signal = True
        await super()._async_cleanup_kernel()

    def _send_cell_ids(self) -> None:
        """Send each execute request with ``metadata.cellId``, as JupyterLab does.

        The kernel side of the protocol names the running cell by that id (it is the anchor
        the agent inserts its cells after); nbclient's client sends no metadata.
        """
        client = self.kc
        assert client is not None

        def execute(
            code: str, silent: bool = False, store_history: bool = True, **rest: Any
        ) -> str:
            content = {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": rest.get("user_expressions") or {},
                "allow_stdin": False,
                "stop_on_error": rest.get("stop_on_error", True),
            }
            message = client.session.msg(
                "execute_request", content, metadata={"cellId": self._cell_id}
            )
            client.shell_channel.send(message)
            return message["header"]["msg_id"]

        client.execute = execute  # type: ignore[method-assign]

    async def _force_settings(self) -> None:
        if not self.forced_settings:
            return
        code = (
            "import jupyter_agents as _jupyter_agents_cli\n"
            f"_jupyter_agents_cli.session_settings().command_line.update({self.forced_settings!r})\n"
            "del _jupyter_agents_cli"
        )
        assert self.kc is not None
        msg_id = await _maybe_await(self.kc.execute(code, silent=True, store_history=False))
        reply = await self.async_wait_for_reply(msg_id)
        if reply is None or reply["content"].get("status") != "ok":
            detail = "" if reply is None else reply["content"].get("evalue", "")
            raise RuntimeError(
                f"could not configure jupyter-agents in the kernel ({detail}); is jupyter-agents "
                "installed in the kernel's environment?"
            )

    # -- messages ------------------------------------------------------------------------------

    def process_message(
        self, msg: dict[str, Any], cell: nbformat.NotebookNode, cell_index: int
    ) -> nbformat.NotebookNode | None:
        content = msg["content"]
        if msg["msg_type"] == "comm_msg" and content.get("comm_id") in self.frontend.comms:
            self._report(content.get("data", {}))
        if self.frontend.take(msg, self._send_comm):
            return None
        return super().process_message(msg, cell, cell_index)

    def _send_comm(self, comm_id: str, data: dict[str, Any]) -> None:
        assert self.kc is not None
        message = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(message)

    # -- progress ------------------------------------------------------------------------------

    def _report(self, data: dict[str, Any]) -> None:
        """One terminal line per agent event worth knowing about."""
        op = data.get("op")
        record = cell_record(data)
        if op == "insert_cell" and isinstance(record, SectionMark):
            self._say(f"    section {record.section!r} ({record.role})")
        step = record if isinstance(record, StepProvenance) else None
        cell_op = op in ("insert_cell", "update_cell")
        if cell_op and step is not None and step.running:  # a step's cell starts
            self._step_started = time.monotonic()
            self.where = f"{self.where.split(',')[0]}, agent step {step.step}"
        elif op == "update_cell" and "execution_count" in data:  # the step's cell has run
            self._step_started = None
            who = f"{step.role} " if step is not None and step.role != "agent" else ""
            status = "pending" if step is None or step.status is None else step.status.value
            self._say(f"    {who}step {step.step if step else None}: {status}")
        # The run's record comes alone, or with a cell's update (protocol version 2).
        stored = data if op == "record_run" else data.get("record")
        if isinstance(stored, dict) and (run := RunRecord.load(stored.get("run"))) is not None:
            self._report_run(run)

    def _report_run(self, run: RunRecord) -> None:
        usage = run.usage
        tokens = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        cost = usage.get("cost")
        price = "cost n/a" if cost is None else f"${cost:.4f}"
        if run.status is RunStatus.RUNNING:  # rewritten after each step while it runs
            if run.steps:
                self._say(f"      {tokens:,} tokens so far, {price}")
            return
        self._say(
            f"    run {run.status}: {run.steps} step(s), {tokens:,} tokens, "
            f"{price}, {run.seconds.get('total', 0):.1f} s"
        )

    def _say(self, line: str) -> None:
        """Print one progress line; what it quotes of the notebook (sources, roles, sections)
        is shown, never obeyed, by the terminal."""
        if self.progress is not None:
            print(one_line(line, 400), file=self.progress, flush=True)


class CellsInPlace(list):  # type: ignore[type-arg]
    """The notebook's cells while nbclient runs them: a cell stays where it is.

    nbclient ends each cell with ``nb.cells[index] = cell``, the index it was given before the
    cell ran. An agent cell can insert cells above itself meanwhile (``%agent --section`` adds
    to a section higher up), and that assignment would then overwrite another cell with a
    second copy of the running one. nbclient updates the cell object in place, so putting a
    cell that is already in the list back into it is skipped.
    """

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, int) and any(cell is value for cell in self):
            return
        super().__setitem__(index, value)


def end_unfinished_runs(nb: nbformat.NotebookNode, reason: str) -> int:
    """After the kernel died mid-run: what the kernel would have recorded, done here.

    Runs still recorded as ``running`` become ``interrupted`` (with ``reason``), and a cell
    still marked as running becomes ``interrupted``. How many runs were ended.
    """
    entry = nb.metadata.get(METADATA_KEY) or {}
    running = {record.run_id for record in run_records(entry) if record.status is RunStatus.RUNNING}
    ended = 0
    for run in entry.get("runs") or []:  # edited in place: the rest of each record stays as it is
        if isinstance(run, dict) and run.get("run_id") in running:
            run["status"], run["error"] = RunStatus.INTERRUPTED.value, reason
            ended += 1
    for cell in nb.cells:
        provenance = step_provenance(cell)
        if provenance is not None and provenance.running:  # in place, as the kernel would
            cell.metadata[METADATA_KEY].pop("running", None)
            cell.metadata[METADATA_KEY]["interrupted"] = True
    return ended


def is_agent_step(cell: nbformat.NotebookNode) -> bool:
    return step_provenance(cell) is not None


def approved_or_own(cell: nbformat.NotebookNode) -> bool:
    """Replay's rule: the author's own cells, and agent cells recorded as approved that
    completed (a cell cut short, or still running when the kernel died, is not run again:
    its assignments were undone, and it may be what killed the kernel)."""
    provenance = step_provenance(cell)
    return provenance is None or provenance.ran_to_its_end


def recorded_status(cell: nbformat.NotebookNode) -> str | None:
    """An agent step cell's status as the notebook says it ("pending" before a decision)."""
    provenance = step_provenance(cell)
    if provenance is None:
        return None
    return "pending" if provenance.status is None else provenance.status.value


def was_cut_short(cell: nbformat.NotebookNode) -> bool:
    """The agent cell did not complete: interrupted, past its time limit, or still running
    when the kernel died."""
    provenance = step_provenance(cell)
    return provenance is not None and (provenance.cut_short or provenance.running)


async def _maybe_await(value: Any) -> Any:
    return await value if hasattr(value, "__await__") else value
