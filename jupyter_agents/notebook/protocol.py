"""The notebook protocol's names and rules, shared by its Python sides (docs/protocol.md).

The kernel side is :mod:`jupyter_agents.notebook.bridge`; the headless frontend side is
:mod:`jupyter_agents.notebook.frontend`; the JupyterLab side is TypeScript, in labextension/.
"""

from __future__ import annotations

from typing import Any

from ..core.records import METADATA_KEY as METADATA_KEY  # the key, for the protocol's users

COMM_TARGET = "jupyter_agents.notebook"
PROTOCOL = "jupyter-agents"
#: Version 2 (2026-12-04): a step's requests are batched (``insert_cell`` and ``update_cell``
#: start and stop capturing outputs, add tags, store the run's record); version 1's
#: ``capture_outputs`` and ``release_outputs`` are gone.
VERSION = 2

#: Requests the kernel sends and a frontend must answer.
REQUEST_OPS = (
    "insert_cell",
    "update_cell",
    "read_cell",
    "delete_cell",
    "read_notebook",
    "record_run",
)
#: Output message types a capturing frontend routes into the target cell.
OUTPUT_MESSAGES = (
    "stream",
    "display_data",
    "update_display_data",
    "execute_result",
    "error",
    "clear_output",
)

#: The ``client`` the headless runner (``jupyter agents run``) names in its ``hello``.
HEADLESS_CLIENT = "jupyter-agents-cli"

#: Seconds the kernel waits for ``hello`` and for each reply. The hello is generous because a
#: JupyterLab tab handles kernel messages one at a time, awaiting each comm target: the hello
#: queues behind the run's widget models, whose first build in a fresh tab on a busy machine
#: took over a second in CI. Frontends without the protocol do not pay it: JupyterLab and
#: Notebook 7 close an unknown comm at once (a JupyterLab console refuses at once), and
#: clients that ignore comms (nbclient, the terminal ``jupyter console``) send no ``cellId``,
#: so no handshake starts.
HELLO_TIMEOUT = 10.0
REPLY_TIMEOUT = 10.0


#: The handshake's ``purpose`` when a click on a run's Undo run asks to remove its cells: no
#: cell executes, so the frontend that answers is the one whose message asked (its session).
UNDO_PURPOSE = "undo"


def open_data(
    run_id: str, anchor_cell_id: str, model: str, role: str | None, purpose: str | None = None
) -> dict[str, Any]:
    """The ``comm_open`` payload that starts the handshake (``purpose``: see UNDO_PURPOSE)."""
    data = {
        "protocol": PROTOCOL,
        "version": VERSION,
        "run_id": run_id,
        "anchor_cell_id": anchor_cell_id,
        "model": model,
        "role": role,
    }
    if purpose:
        data["purpose"] = purpose
    return data


def hello(accepted: bool, client: str, client_version: str, reason: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {
        "op": "hello",
        "version": VERSION,
        "accepted": accepted,
        "client": client,
        "client_version": client_version,
    }
    if not accepted:
        data["reason"] = reason
    return data


def ok(request_id: int, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"reply_to": request_id, "ok": True, "result": result or {}}


def error(request_id: int, message: str) -> dict[str, Any]:
    return {"reply_to": request_id, "ok": False, "error": message}
