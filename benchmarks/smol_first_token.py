"""smolagents' start-up, timed in a fresh process (run by the start-up measure).

``python -m benchmarks.smol_first_token BASE_URL`` prints one JSON line:

- ``import``: seconds for ``from smolagents import CodeAgent, LiteLLMModel``;
- ``first_token`` / ``first_token_warm``: seconds from building the agent and calling
  ``run(stream=True)`` (the first and the second run in this process) until the reply's first
  text reaches the console, i.e. smolagents' rich display writes it to the terminal.

The model is smolagents' ``LiteLLMModel`` pointed at the benchmark's loopback server, so both
systems pay litellm's import and its HTTP path, as ours does.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time

MARKER = "firsttoken"


class Screen(io.StringIO):
    """A terminal stand-in that notes when ``MARKER`` is first written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_at: float | None = None

    def write(self, text: str) -> int:
        if self.seen_at is None and MARKER in text:
            self.seen_at = time.perf_counter()
        return super().write(text)

    def isatty(self) -> bool:
        return True


def first_token(base_url: str) -> float:
    from rich.console import Console
    from smolagents import CodeAgent, LiteLLMModel
    from smolagents.monitoring import AgentLogger, LogLevel

    screen = Screen()
    started = time.perf_counter()
    model = LiteLLMModel(model_id="openai/scripted", api_base=base_url, api_key="sk-bench")
    console = Console(file=screen, force_terminal=True, width=100, highlight=False)
    agent = CodeAgent(
        tools=[],
        model=model,
        max_steps=1,
        stream_outputs=True,
        logger=AgentLogger(level=LogLevel.INFO, console=console),
    )
    for _event in agent.run("Say something.", stream=True):
        pass  # the reply ends the run (final_answer), so it runs to its end
    if screen.seen_at is None:
        raise RuntimeError("the reply never reached smolagents' console")
    return screen.seen_at - started


def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    base_url = sys.argv[1]
    started = time.perf_counter()
    from smolagents import CodeAgent, LiteLLMModel  # noqa: F401

    imported = time.perf_counter() - started
    cold = first_token(base_url)
    warm = first_token(base_url)
    print(json.dumps({"import": imported, "first_token": cold, "first_token_warm": warm}))


if __name__ == "__main__":
    main()
