"""jupyter-agents: a code agent in your live Jupyter kernel, one approved cell at a time.

In a notebook::

    %load_ext jupyter_agents
    %agent Load sales.csv, clean the dates and plot monthly revenue

or from Python: ``result = await Agent(model="openai/gpt-4o-mini").run("...")``.
"""

from __future__ import annotations

from typing import Any

from IPython import get_ipython

from ._version import __version__
from .agent.preload import start_preload
from .core.errors import (
    ApprovalUnavailable,
    ConfigurationError,
    InvalidOption,
    JupyterAgentsError,
    ModelCallFailed,
    NoModelConfigured,
    ReplyFormatError,
    RunAlreadyActive,
    RunInterrupted,
)
from .core.result import RunResult, RunStatus
from .core.steps import Step, StepStatus, Usage
from .crew.crew_run import Crew, CrewResult, CrewStalled
from .ipython.awaitable import agent_lines_as_calls, await_agent_magics
from .ipython.display_quiet import restore_quiet, tolerate_broken_last_cell
from .ipython.magics import AgentMagics
from .kernel.turn_end import final_answer
from .run.python_api import Agent
from .run.session import KernelSession, forget_session
from .safety.approval import ApprovalDecision, ApprovalRequest

__all__ = [
    "__version__",
    "Agent",
    "Crew",
    "CrewResult",
    "CrewStalled",
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalUnavailable",
    "ConfigurationError",
    "InvalidOption",
    "JupyterAgentsError",
    "ModelCallFailed",
    "NoModelConfigured",
    "ReplyFormatError",
    "RunAlreadyActive",
    "RunInterrupted",
    "RunResult",
    "RunStatus",
    "Step",
    "StepStatus",
    "Usage",
    "final_answer",
    "last_run",
    "session_settings",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lives (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "jupyter-agents"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_agents``: register the magics and make ``%agent`` awaitable."""
    start_preload()  # litellm, in the background: the first %agent then need not wait for it
    session = KernelSession.for_shell(ipython)
    ipython.register_magics(AgentMagics(ipython, session))
    tolerate_broken_last_cell(ipython)
    line_transforms = ipython.input_transformer_manager.line_transforms
    if agent_lines_as_calls not in line_transforms:
        line_transforms.append(agent_lines_as_calls)
    if await_agent_magics not in ipython.input_transformers_post:
        ipython.input_transformers_post.append(await_agent_magics)


def unload_ipython_extension(ipython: Any) -> None:
    forget_session(ipython)
    restore_quiet(ipython)

    line_transforms = ipython.input_transformer_manager.line_transforms
    if agent_lines_as_calls in line_transforms:
        line_transforms.remove(agent_lines_as_calls)
    if await_agent_magics in ipython.input_transformers_post:
        ipython.input_transformers_post.remove(await_agent_magics)


def last_run() -> RunResult | None:
    """The most recent run in this kernel (its steps, tokens, status), or None."""
    shell = get_ipython()
    return None if shell is None else KernelSession.for_shell(shell).last


def session_settings() -> Any:
    """This kernel's settings store: ``%agent_config`` values and, for headless runners such
    as ``jupyter agents run``, ``command_line`` values that win over them."""
    shell = get_ipython()
    if shell is None:
        raise JupyterAgentsError("session_settings() needs an IPython kernel.")
    return KernelSession.for_shell(shell).settings
