"""The kernel's side of the notebook protocol: asking the frontend to edit the notebook.

The kernel cannot touch the notebook document, so it asks over a comm (docs/protocol.md).
Every request is awaited while the ``%agent`` cell is still running: ipykernel >= 7.4
delivers the frontend's replies during the await. Any failure (no capable frontend, a
refusal, a timeout, an error reply) raises :class:`BridgeError`, and the caller goes on
without the notebook: the widget still works.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from ..core.errors import JupyterAgentsError
from ..kernel.control import wait_for_future
from . import protocol

EventHandler = Callable[[dict[str, Any]], None]


class BridgeError(JupyterAgentsError):
    """The frontend answered that it could not do what was asked (e.g. no such cell)."""


class FrontendGone(BridgeError):
    """The frontend is no longer there: it closed the comm or stopped answering."""


class FrontendRefused(BridgeError):
    """A frontend that speaks the protocol answered the handshake but will not take part.

    Unlike a silent fallback, its reason (another protocol version, a console instead of a
    notebook) is worth showing: it tells the user why no cells appear in the notebook.
    """


class NotebookBridge:
    """One run's comm to a frontend that speaks the protocol."""

    def __init__(self, comm: Any) -> None:
        self._comm = comm
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._hello: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._event_handlers: dict[str, EventHandler] = {}
        self.closed = False
        self.client = ""
        comm.on_msg(self._receive)
        comm.on_close(self._closed)

    @classmethod
    async def connect(
        cls,
        run_id: str,
        anchor_cell_id: str | None,
        model: str,
        role: str | None = None,
        purpose: str | None = None,
    ) -> NotebookBridge | None:
        """Open the run's comm and shake hands (``purpose``: see ``protocol.UNDO_PURPOSE``).

        None if no capable frontend answers; :class:`FrontendRefused` if one declines.
        """
        if not anchor_cell_id:
            return None  # not run from a notebook cell the frontend could know
        from comm import create_comm

        data = protocol.open_data(run_id, anchor_cell_id, model, role, purpose)
        bridge = cls(create_comm(target_name=protocol.COMM_TARGET, data=data))
        try:
            hello = await wait_for_future(
                bridge._hello, protocol.HELLO_TIMEOUT, lambda: FrontendGone("no hello")
            )
        except BridgeError:
            bridge.close()
            return None
        if not hello.get("accepted") or hello.get("version") != protocol.VERSION:
            bridge.close()
            raise FrontendRefused(_refusal(hello))
        bridge.client = str(hello.get("client", ""))
        return bridge

    def on_event(self, op: str, handler: EventHandler) -> None:
        """``handler(event)`` receives the frontend's events of kind ``op`` (docs/protocol.md):
        ``decision`` (the user decided from the notebook), ``queued`` (the user ran a pending
        cell themselves)."""
        self._event_handlers[op] = handler

    async def request(self, op: str, **arguments: Any) -> dict[str, Any]:
        """Send one request and await its result; raise BridgeError if it fails."""
        return await self.post(op, **arguments).result()

    def post(self, op: str, **arguments: Any) -> PostedRequest:
        """Send one request now and await its result later (:meth:`PostedRequest.result`).

        The frontend handles messages in order, so a request that only has to take effect
        before what the kernel publishes next (routing a cell's outputs) needs no wait.
        """
        if self.closed:
            raise FrontendGone("the notebook frontend is no longer connected")
        request_id = next(self._ids)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        self._comm.send({"id": request_id, "op": op, **arguments})
        return PostedRequest(self._pending, request_id, op, reply)

    async def insert_cell(
        self,
        cell_id: str,
        after: str,
        source: str,
        metadata: dict[str, Any],
        cell_type: str = "code",
    ) -> str:
        """Insert a cell with the id the caller chose (known even if the reply never comes)."""
        result = await self.request(
            "insert_cell",
            cell_id=cell_id,
            after=after,
            cell_type=cell_type,
            source=source,
            metadata=metadata,
        )
        return str(result.get("cell_id", cell_id))

    async def update_cell(self, cell_id: str, **changes: Any) -> None:
        """Change a cell; besides its fields, ``capture``/``release`` start and stop routing
        outputs into it, ``add_tags`` adds tags, ``record`` stores the run's record
        (docs/protocol.md): one message for what a step needs at once."""
        await self.request("update_cell", cell_id=cell_id, **changes)

    async def read_cell(self, cell_id: str) -> dict[str, Any]:
        return await self.request("read_cell", cell_id=cell_id)

    async def delete_cell(self, cell_id: str) -> None:
        await self.request("delete_cell", cell_id=cell_id)

    async def read_notebook(self) -> dict[str, Any]:
        return await self.request("read_notebook")

    async def record_run(self, run: dict[str, Any], replaces: str | None = None) -> None:
        await self.request("record_run", run=run, replaces=replaces)

    def end(self, status: str) -> None:
        """Tell the frontend the run is over, then close the comm."""
        if not self.closed:
            self._comm.send({"op": "end", "status": status})
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._comm.close()
        self._fail_pending("the notebook protocol was closed")

    # -- messages from the frontend ------------------------------------------------------------

    def _receive(self, message: dict[str, Any]) -> None:
        data = message.get("content", {}).get("data") or {}
        if "reply_to" in data:
            future = self._pending.get(data["reply_to"])
            if future is not None and not future.done():
                future.set_result(data)
        elif data.get("op") == "hello":
            if not self._hello.done():
                self._hello.set_result(data)
        elif data.get("op") in self._event_handlers:
            self._event_handlers[data["op"]](data)

    def _closed(self, _message: Any) -> None:
        self.closed = True
        self._fail_pending("the notebook frontend closed the connection")

    def _fail_pending(self, reason: str) -> None:
        futures = [self._hello, *self._pending.values()]
        for future in futures:
            if not future.done():
                future.set_exception(FrontendGone(reason))
        # Nobody may be awaiting the hello any more; don't let asyncio log its exception.
        if self._hello.done() and not self._hello.cancelled():
            self._hello.exception()


class PostedRequest:
    """A request already sent, whose reply is awaited when its result is needed."""

    def __init__(
        self,
        pending: dict[int, asyncio.Future[dict[str, Any]]],
        request_id: int,
        op: str,
        reply: asyncio.Future[dict[str, Any]],
    ) -> None:
        self._pending, self._id, self.op, self._reply = pending, request_id, op, reply

    async def result(self) -> dict[str, Any]:
        """The reply's result, within REPLY_TIMEOUT; BridgeError if it failed."""
        op = self.op
        try:
            answer = await wait_for_future(
                self._reply,
                protocol.REPLY_TIMEOUT,
                lambda: FrontendGone(
                    f"the notebook did not answer {op!r} within {protocol.REPLY_TIMEOUT:g} s"
                ),
            )
        finally:
            self._pending.pop(self._id, None)
        if not answer.get("ok"):
            raise BridgeError(f"the notebook refused {op!r}: {answer.get('error', 'no reason')}")
        return answer.get("result") or {}


def _refusal(hello: dict[str, Any]) -> str:
    """Why the frontend does not take part, in its words or from the versions."""
    client = hello.get("client") or "the notebook frontend"
    if not hello.get("accepted"):
        return f"{client} declined the notebook protocol: {hello.get('reason') or 'no reason'}"
    return (
        f"{client} speaks notebook protocol version {hello.get('version')!r}, this kernel "
        f"{protocol.VERSION}: install the same jupyter-agents version in both"
    )
