"""The frontend side of the notebook protocol, for a notebook held in memory (nbformat).

This is what a headless client (a runner built on nbclient, a test harness) uses to let
``%agent`` write cells, outputs and provenance into a notebook, exactly as the JupyterLab
extension does in the browser. It owns no connection: the caller feeds it the kernel's
messages and sends back what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, output_from_msg

from .._version import __version__
from . import protocol


class NotebookFrontend:
    """Answers the kernel's notebook requests against ``notebook``."""

    def __init__(
        self,
        notebook: nbformat.NotebookNode,
        client: str = "headless",
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.notebook = notebook
        self.client = client
        #: Applied to an agent cell's stream text where its chunks are joined: a key written
        #: in two pieces passes the kernel's check of each piece, not this one.
        self.redact = redact
        #: comm id -> anchor cell id, for the runs this frontend took part in.
        self.comms: dict[str, str] = {}
        #: The requests answered, in order, as (op, cell_id or None): what a run cost in
        #: round trips (the overhead benchmark counts them; tests check the batching).
        self.requests: list[tuple[str, str | None]] = []
        #: parent msg_id -> cell id whose outputs are being captured.
        self._captures: dict[str, str] = {}
        self._clear_on_next: set[str] = set()
        self._display_targets: dict[str, list[tuple[str, int]]] = {}
        self._anchor = ""

    # -- handshake and requests ------------------------------------------------------------------

    def on_comm_open(self, comm_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The ``hello`` to send back, or None when this notebook is not the run's."""
        anchor = data.get("anchor_cell_id")
        if self._index(anchor) is None:
            return None
        if data.get("version") != protocol.VERSION:
            reason = f"protocol version {data.get('version')} is not supported"
            return protocol.hello(False, self.client, __version__, reason)
        self.comms[comm_id] = anchor
        return protocol.hello(True, self.client, __version__)

    def on_comm_msg(self, comm_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The reply to a request (None for notices and for other comms)."""
        if comm_id not in self.comms:
            return None
        if data.get("op") == "end":
            self.on_comm_close(comm_id)
            return None
        request_id = data.get("id")
        if request_id is None:
            return None
        handler = getattr(self, f"_op_{data.get('op')}", None)
        if data.get("op") not in protocol.REQUEST_OPS or handler is None:
            return protocol.error(request_id, f"unknown op {data.get('op')!r}")
        self._anchor = self.comms[comm_id]
        self.requests.append((str(data.get("op")), data.get("cell_id")))
        try:
            return protocol.ok(request_id, handler(data))
        except KeyError as missing:
            return protocol.error(request_id, f"no cell with id {missing.args[0]!r}")
        except (TypeError, ValueError) as problem:
            return protocol.error(request_id, str(problem))

    def on_comm_close(self, comm_id: str) -> None:
        self.comms.pop(comm_id, None)
        self._captures.clear()

    def decision(self, cell_id: str, verdict: str, reason: str | None = None) -> dict[str, Any]:
        """The event data for a decision taken on a cell (what a toolbar button sends)."""
        event: dict[str, Any] = {"op": "decision", "cell_id": cell_id, "verdict": verdict}
        if reason:
            event["reason"] = reason
        return event

    def _op_insert_cell(self, data: dict[str, Any]) -> dict[str, Any]:
        after = self._require(data["after"])
        if self._index(data["cell_id"]) is not None:
            raise ValueError(f"a cell with id {data['cell_id']!r} already exists")
        make = new_markdown_cell if data.get("cell_type") == "markdown" else new_code_cell
        metadata = dict(data.get("metadata") or {})
        cell = make(source=data.get("source", ""), metadata=metadata, id=data["cell_id"])
        self.notebook.cells.insert(after + 1, cell)
        if data.get("capture"):
            self._capture(cell.id, data["capture"])
        return {"cell_id": cell.id}

    def _op_update_cell(self, data: dict[str, Any]) -> dict[str, Any]:
        """In the protocol's order: release, record, the cell's fields, capture."""
        if data.get("release"):
            self._release(data["cell_id"])
        if data.get("record") is not None:
            record = data["record"]
            if not isinstance(record, dict):
                raise ValueError("record must be an object with run and replaces")
            self._op_record_run(record)
        cell = self.cell(data["cell_id"])
        if "source" in data:
            cell.source = data["source"]
        if "metadata" in data:
            cell.metadata.update(data["metadata"])
        if data.get("add_tags"):
            tags = list(cell.metadata.get("tags") or [])
            cell.metadata["tags"] = tags + [tag for tag in data["add_tags"] if tag not in tags]
        if "execution_count" in data and cell.cell_type == "code":
            cell.execution_count = data["execution_count"]
        if "outputs" in data and cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(output) for output in data["outputs"]]
        if data.get("capture"):
            self._capture(cell.id, data["capture"])
        return {}

    def _op_read_cell(self, data: dict[str, Any]) -> dict[str, Any]:
        cell = self.cell(data["cell_id"])
        return {"cell_type": cell.cell_type, "source": cell.source, "metadata": dict(cell.metadata)}

    def _op_delete_cell(self, data: dict[str, Any]) -> dict[str, Any]:
        del self.notebook.cells[self._require(data["cell_id"])]
        return {}

    def _op_read_notebook(self, data: dict[str, Any]) -> dict[str, Any]:
        cells = [
            {
                "id": cell.id,
                "cell_type": cell.cell_type,
                "source": cell.source,
                "execution_count": cell.get("execution_count"),
                "metadata": {
                    key: value
                    for key, value in cell.metadata.items()
                    if key == protocol.METADATA_KEY
                },
            }
            for cell in self.notebook.cells
        ]
        return {
            "cells": cells,
            "anchor_index": self._require(self._anchor),
            "metadata": dict(self.notebook.metadata.get(protocol.METADATA_KEY, {})),
        }

    def _op_record_run(self, data: dict[str, Any]) -> dict[str, Any]:
        run, replaces = data.get("run"), data.get("replaces")
        if not isinstance(run, dict) or not isinstance(run.get("run_id"), str):
            raise ValueError("record_run needs a run object with a string run_id")
        entry = self.notebook.metadata.setdefault(protocol.METADATA_KEY, {})
        kept = [
            existing
            for existing in entry.get("runs", [])
            if existing.get("run_id") not in (run["run_id"], replaces)
        ]
        entry["runs"] = [*kept, run]
        return {}

    def _capture(self, cell_id: str, msg_id: str) -> None:
        """Route the outputs of execute request ``msg_id`` into the cell, cleared first."""
        cell = self.cell(cell_id)
        if cell.cell_type == "code":
            cell.outputs = []
        self._captures[msg_id] = cell_id

    def _release(self, cell_id: str) -> None:
        for msg_id, captured in list(self._captures.items()):
            if captured == cell_id:
                del self._captures[msg_id]

    def take(self, message: dict[str, Any], send: Callable[[str, dict[str, Any]], None]) -> bool:
        """Handle one IOPub message if it belongs to the protocol or to a capturing cell.

        ``send(comm_id, data)`` sends a comm message back to the kernel (the caller owns the
        connection). True if the message was taken; otherwise it is the caller's to handle.
        """
        kind, content = message["msg_type"], message["content"]
        comm_id = content.get("comm_id")
        if kind == "comm_open" and content.get("target_name") == protocol.COMM_TARGET:
            hello = self.on_comm_open(comm_id, content.get("data", {}))
            if hello is not None:
                send(comm_id, hello)
            return True
        if comm_id is not None and comm_id in self.comms:
            if kind == "comm_msg":
                reply = self.on_comm_msg(comm_id, content.get("data", {}))
                if reply is not None:
                    send(comm_id, reply)
            elif kind == "comm_close":
                self.on_comm_close(comm_id)
            return True
        return self.route_output(message)

    # -- outputs -------------------------------------------------------------------------------

    def route_output(self, message: dict[str, Any]) -> bool:
        """Put an output message into the capturing cell; True if it was taken."""
        cell_id = self._captures.get(message.get("parent_header", {}).get("msg_id"))
        kind = message.get("msg_type")
        if cell_id is None or kind not in protocol.OUTPUT_MESSAGES:
            return False
        cell = self.cell(cell_id)
        if kind == "clear_output":
            if message["content"].get("wait"):
                self._clear_on_next.add(cell_id)
            else:
                cell.outputs = []
            return True
        if cell_id in self._clear_on_next:
            self._clear_on_next.discard(cell_id)
            cell.outputs = []
        display_id = (message["content"].get("transient") or {}).get("display_id")
        if kind == "update_display_data":
            for target_cell, index in self._display_targets.get(display_id, []):
                outputs = self.cell(target_cell).outputs
                if index < len(outputs):
                    outputs[index]["data"] = message["content"]["data"]
                    outputs[index]["metadata"] = message["content"].get("metadata", {})
            return True
        last = cell.outputs[-1] if cell.outputs else {}
        if kind == "stream" and last.get("name") == message["content"].get("name"):
            # Consecutive streams merge, as in Lab; the joined text is checked again.
            last["text"] = self.redact(last["text"] + message["content"]["text"])
            return True
        cell.outputs.append(output_from_msg(message))
        if display_id:
            targets = self._display_targets.setdefault(display_id, [])
            targets.append((cell_id, len(cell.outputs) - 1))
        return True

    # -- cells ---------------------------------------------------------------------------------

    def cell(self, cell_id: str) -> nbformat.NotebookNode:
        return self.notebook.cells[self._require(cell_id)]

    def _index(self, cell_id: str | None) -> int | None:
        for index, cell in enumerate(self.notebook.cells):
            if cell.get("id") == cell_id:
                return index
        return None

    def _require(self, cell_id: str) -> int:
        index = self._index(cell_id)
        if index is None:
            raise KeyError(cell_id)
        return index
