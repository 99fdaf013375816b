"""The errors jupyter-agents raises on purpose.

Every one of them is a problem the user can fix, so in a notebook it shows as a single line
(IPython calls ``_render_traceback_`` instead of printing a traceback). Errors that carry a
partial run keep it in ``.run`` so nothing the agent did is lost.
"""

from __future__ import annotations

from typing import Any


class JupyterAgentsError(Exception):
    """Base class: a problem with a one-line explanation and, where possible, the fix."""

    #: The partial :class:`~jupyter_agents.core.result.RunResult`, when the error ended a run.
    run: Any = None

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"{type(self).__name__}: {self}"]


class ConfigurationError(JupyterAgentsError):
    """A setting or option is missing or has a value that cannot work."""


class NoModelConfigured(ConfigurationError):
    """No model was chosen by any of the four ways to choose one."""

    def __init__(self) -> None:
        super().__init__(
            "no model set. Choose one with `%agent --model openai/gpt-4o-mini ...`, "
            "`%agent_config model=openai/gpt-4o-mini`, `c.JupyterAgents.model = ...` in "
            "ipython_config.py, or the environment variable JUPYTER_AGENTS_MODEL."
        )


class InvalidOption(ConfigurationError):
    """A magic option or ``%agent_config`` value was not understood."""


class RunAlreadyActive(JupyterAgentsError):
    """A second agent run was started while one is still running in this kernel."""


class ApprovalUnavailable(JupyterAgentsError):
    """Approval is required but no frontend that can show the approval widget answered."""


class ModelCallFailed(JupyterAgentsError):
    """The model provider could not be reached or refused the request, after retries."""


class ReplyFormatError(JupyterAgentsError):
    """The model kept replying without a code block, past the corrective retries."""


class RunInterrupted(JupyterAgentsError):
    """The run was interrupted (kernel stop button or SIGINT); completed cells are kept."""


class NotRecorded(JupyterAgentsError):
    """Offline (``jupyter agents replay``): a prompt cell has no recorded run to replay."""


class NotUndoable(JupyterAgentsError):
    """The run cannot be undone (now): the message names why, and the run to undo first."""


class UnknownHandoffTarget(JupyterAgentsError):
    """A cell hands off to a role the crew does not have; the cell does not run at all."""


class ContextOverflow(ModelCallFailed):
    """The model refused the prompt as longer than its context window."""


class CellTimeout(KeyboardInterrupt):
    """Raised inside an agent cell that ran past its time limit (``cell_timeout``).

    A KeyboardInterrupt, like the one the stop button raises, so the cell's own
    ``except Exception`` does not swallow it; its own name, so the traceback says why.
    """


class CellIgnoredInterrupts(BaseException):
    """Raised inside an agent cell that kept running after its time limit interrupted it twice.

    Not a KeyboardInterrupt, so an ``except KeyboardInterrupt`` the cell loops in does not
    catch it; when it arrives, the run ends (:mod:`jupyter_agents.kernel.time_limit`).
    """
