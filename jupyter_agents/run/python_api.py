"""The Python API: ``await Agent(model=..., tools=[...]).run("task")``, mirroring ``%agent``.

An Agent may also have a role (``role``, ``goal``, ``backstory``, ``section``); it then takes
part in a :class:`~jupyter_agents.Crew`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import ConfigurationError, InvalidOption
from ..core.result import RunResult
from .config import SettingsStore
from .runner import run_agent
from .session import KernelSession


class Agent:
    """A code agent that works in the running IPython kernel.

    Settings not given here come from ``%agent_config``, then ``c.JupyterAgents.*``, then the
    environment (see :mod:`jupyter_agents.run.config`). Extra keyword arguments are any of
    those settings (``observation_tokens=...``, ``model_kwargs={...}``, ``rerun=True``, ...).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        max_steps: int | None = None,
        approve: str | None = None,
        tools: Sequence[Callable[..., Any]] = (),
        role: str | None = None,
        goal: str | None = None,
        backstory: str = "",
        section: str = "",
        **settings: Any,
    ) -> None:
        self.options = {"model": model, "max_steps": max_steps, "approve": approve, **settings}
        SettingsStore().check(self.options)  # as Crew(...): every c.JupyterAgents.* setting
        if role is not None and not (goal or "").strip():
            raise InvalidOption(f"the agent with role {role!r} needs a goal (goal=...).")
        self.tools = list(tools)
        self.role = (role or "").strip()
        self.goal = (goal or "").strip()
        self.backstory = backstory
        self.section = section

    async def run(self, task: str, section: str | None = None) -> RunResult:
        """Run the agent on ``task``; returns the :class:`RunResult` (``.answer``, ``.steps``).

        With ``section``, it works in that existing notebook section (needs the extension).
        """
        if not task or not task.strip():
            raise InvalidOption("the task is empty; say what the agent should do.")
        session = KernelSession.for_shell(current_shell())
        settings = session.settings.resolve(**self.options)
        return await run_agent(task, settings, self.tools, session, section=section)

    def role_entry(self) -> dict[str, Any]:
        """This agent as one entry of a crew spec."""
        return {
            "role": self.role,
            "goal": self.goal,
            "backstory": self.backstory,
            "model": self.options.get("model"),
            "max_steps": self.options.get("max_steps"),
            "section": self.section,
        }


def current_shell() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise ConfigurationError(
            "agents need a running IPython kernel (a notebook or `jupyter console`)."
        )
    return shell
