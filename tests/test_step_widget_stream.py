"""How a step's widget shows a streaming reply: the first text at once, then at most one
refresh per interval, so a fast stream does not flood the frontend with updates."""

from __future__ import annotations

import asyncio

from jupyter_agents.ui.control_bar import ControlBar
from jupyter_agents.ui.step_widget import STREAM_PREVIEW_CHARS, STREAM_REFRESH_SECONDS, StepWidget


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


def test_a_reply_of_megabytes_shows_only_its_latest_characters():
    """Each refresh redacts and sends the preview: it stays bounded however long the reply."""

    async def stream() -> str:
        step = StepWidget(1, ControlBar(approval=False), "Step 1", redact=str.upper)
        for number in range(300):
            step.stream(f"x = {number:05d}  # " + "y" * 10_000 + "\n")
        step.stream("the_end")
        await asyncio.sleep(STREAM_REFRESH_SECONDS * 3)
        return step.thought.value

    shown = asyncio.run(stream())
    assert len(shown) < STREAM_PREVIEW_CHARS + 200
    assert "THE_END" in shown  # the latest text, redacted
    total = 300 * len("x = 00000  # " + "y" * 10_000 + "\n") + len("the_end")
    assert f"… {total - STREAM_PREVIEW_CHARS:,} earlier characters" in shown
