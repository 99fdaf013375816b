"""The Python API: ``await Agent(model=..., tools=[...]).run("task")``, mirroring ``%agent``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .config import SETTABLE
from .errors import ConfigurationError, InvalidOption
from .result import RunResult
from .runner import run_agent
from .session import KernelSession


class Agent:
    """A code agent that works in the running IPython kernel.

    Settings not given here come from ``%agent_config``, then ``c.JupyterAgents.*``, then the
    environment (see :mod:`jupyter_agents.config`). Extra keyword arguments are any of
    those settings (``observation_tokens=...``, ``model_kwargs={...}``, ...).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        max_steps: int | None = None,
        approve: str | None = None,
        tools: Sequence[Callable[..., Any]] = (),
        **settings: Any,
    ) -> None:
        unknown = set(settings) - set(SETTABLE) - {"model_kwargs"}
        if unknown:
            raise InvalidOption(
                f"unknown setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(SETTABLE)}, model_kwargs."
            )
        self.options = {"model": model, "max_steps": max_steps, "approve": approve, **settings}
        self.tools = list(tools)

    async def run(self, task: str) -> RunResult:
        """Run the agent on ``task``; returns the :class:`RunResult` (``.answer``, ``.steps``)."""
        if not task or not task.strip():
            raise InvalidOption("the task is empty; say what the agent should do.")
        session = KernelSession.for_shell(_current_shell())
        settings = session.settings.resolve_for_run(**self.options)
        return await run_agent(task, settings, self.tools, session)


def _current_shell() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise ConfigurationError(
            "Agent.run needs a running IPython kernel (a notebook or `jupyter console`)."
        )
    return shell
