"""How a step's widget shows a streaming reply: the first text at once, then at most one
refresh per interval, so a fast stream does not flood the frontend with updates."""

from __future__ import annotations

import asyncio

from jupyter_agents.ui.control_bar import ControlBar
from jupyter_agents.ui.step_widget import STREAM_REFRESH_SECONDS, StepWidget


def test_the_first_streamed_text_shows_at_once_and_later_text_waits_for_the_interval():
    async def stream() -> list[str]:
        step = StepWidget(1, ControlBar(approval=False), "Step 1")
        seen = []
        step.stream("Looking")
        seen.append(step.thought.value)
        step.stream(" at the data")
        seen.append(step.thought.value)
        await asyncio.sleep(STREAM_REFRESH_SECONDS * 3)
        seen.append(step.thought.value)
        return seen

    first, during, after = asyncio.run(stream())
    assert "Looking" in first
    assert during == first  # within the interval: shown with the next refresh
    assert "Looking at the data" in after
