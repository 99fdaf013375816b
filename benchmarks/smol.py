"""smolagents' side: a scripted Model and agents built the way its documentation shows.

Imported only when smolagents is installed (the ``bench`` extra). The scripted Model returns
the next reply instantly through smolagents' own ``Model`` interface, in the format its
CodeAgent prompt asks for (``Thought: ...`` then a ``<code>`` block), with the same code inside
as the replies our side gets.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from smolagents import CodeAgent, LocalPythonExecutor
from smolagents.default_tools import FinalAnswerTool
from smolagents.models import ChatMessage, MessageRole, Model, TokenUsage
from smolagents.monitoring import AgentLogger, LogLevel

#: A data-analysis CodeAgent's imports; "numpy.*" lets it reach numpy.random. Its prompt lists them.
DATA_IMPORTS = ["pandas", "numpy", "numpy.*"]


def smol_reply(thought: str, code: str) -> str:
    """A reply in the format smolagents' CodeAgent prompt asks for."""
    return f"Thought: {thought}\n<code>\n{code}\n</code>"


class ScriptedModel(Model):
    """Answers each call with the next scripted reply; records what it was sent and its time."""

    def __init__(self, replies: Iterable[str]) -> None:
        super().__init__(model_id="scripted")
        self.replies = list(replies)
        self.calls: list[list[Any]] = []
        self.seconds = 0.0

    def generate(self, messages: list[Any], stop_sequences: Any = None, **kwargs: Any):
        started = time.perf_counter()
        self.calls.append(list(messages))
        if not self.replies:
            raise RuntimeError("the scripted model has no reply left")
        reply = ChatMessage(
            role=MessageRole.ASSISTANT,
            content=self.replies.pop(0),
            token_usage=TokenUsage(input_tokens=0, output_tokens=0),
        )
        self.seconds += time.perf_counter() - started
        return reply


def terminal_logger(verbose: bool) -> AgentLogger:
    """smolagents' default logging (rich panels at INFO) into a buffer, as in a terminal.

    A terminal is where its logs go by default; writing them to a buffer keeps the cost of
    rendering them (which a user pays) without flooding the benchmark's output.
    """
    console = Console(file=io.StringIO(), force_terminal=True, width=100, highlight=False)
    return AgentLogger(level=LogLevel.INFO if verbose else LogLevel.OFF, console=console)


def code_agent(model: Model, max_steps: int, verbose: bool = True, **kwargs: Any) -> CodeAgent:
    """A CodeAgent with its default LocalPythonExecutor and the data imports allowed."""
    return CodeAgent(
        tools=[],
        model=model,
        max_steps=max_steps,
        additional_authorized_imports=DATA_IMPORTS,
        logger=terminal_logger(verbose),
        **kwargs,
    )


def executor() -> LocalPythonExecutor:
    """The executor a CodeAgent creates by default, prepared as CodeAgent.run prepares it."""
    python = LocalPythonExecutor(DATA_IMPORTS)
    python.send_variables({})
    python.send_tools({"final_answer": FinalAnswerTool()})
    return python


class TimedExecutor:
    """Wraps a CodeAgent's executor to add up the time spent inside it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __call__(self, code: str) -> Any:
        started = time.perf_counter()
        try:
            return self.inner(code)
        finally:
            self.seconds += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def api_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Memory messages as smolagents' API models send them (tool roles mapped, text joined)."""
    from smolagents.models import get_clean_message_list, tool_role_conversions

    return get_clean_message_list(
        messages, role_conversions=tool_role_conversions, flatten_messages_as_text=True
    )
