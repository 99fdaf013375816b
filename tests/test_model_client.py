"""The model client over litellm's real HTTP path: streaming, usage, retries, clear failures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from jupyter_agents.agent.model import ModelClient
from jupyter_agents.agent.retry import RetryPolicy
from jupyter_agents.core.errors import ModelCallFailed
from tests.support.llm_server import Fault, ScriptedLLMServer

FAST = RetryPolicy(retries=2, base_delay=0.01, max_delay=0.05)


def client(llm: ScriptedLLMServer, **options) -> ModelClient:
    extra = {"api_base": llm.base_url, "api_key": "sk-test"}
    return ModelClient(
        options.pop("model", "openai/scripted"),
        retry=options.pop("retry", FAST),
        extra=extra,
        **options,
    )


def complete(model: ModelClient, events: list | None = None):
    events = [] if events is None else events
    return asyncio.run(
        model.complete(
            [{"role": "user", "content": "hi"}],
            on_text=lambda text: events.append(("text", text)),
            on_retry=lambda failure, attempt, delay: events.append(
                ("retry", failure.kind, failure.status)
            ),
        )
    )


def test_streamed_reply_and_usage(script: ScriptedLLMServer):
    script.script("Hello there, this reply streams in pieces.")
    events = []
    reply = complete(client(script), events)
    assert reply.text == "Hello there, this reply streams in pieces."
    pieces = [event[1] for event in events]
    assert len(pieces) > 1 and "".join(pieces) == reply.text
    assert reply.usage.prompt_tokens == max(1, len('[{"role": "user", "content": "hi"}]') // 4)
    assert reply.usage.completion_tokens == len(reply.text) // 4
    assert reply.usage.cost is None  # litellm has no price for a made-up model
    assert script.requests[0].body["stream"] is True


def test_non_streaming_mode_and_known_price(script: ScriptedLLMServer):
    script.script("Plain reply.")
    reply = complete(client(script, stream=False, model="openai/gpt-4o-mini"))
    assert reply.text == "Plain reply." and script.requests[0].body.get("stream") in (None, False)
    assert reply.usage.cost is not None and reply.usage.cost > 0


def test_rate_limit_is_retried(script: ScriptedLLMServer):
    script.script(Fault(status=429, retry_after=0), "after the wait")
    events = []
    reply = complete(client(script), events)
    assert reply.text == "after the wait" and reply.attempts == 2
    assert ("retry", "rate limit", 429) in events


def test_a_broken_stream_is_retried_and_its_partial_text_discarded(script: ScriptedLLMServer):
    script.script(Fault(cut_after=12, then="This reply gets cut off early."), "Complete reply.")
    events = []
    reply = complete(client(script), events)
    assert reply.text == "Complete reply."
    kinds = [event[0] for event in events]
    retry_at = kinds.index("retry")
    assert events[retry_at][1] == "broken stream"
    assert 0 < retry_at  # partial text had streamed before the break
    assert "".join(e[1] for e in events[retry_at + 1 :]) == "Complete reply."


def test_server_errors_give_up_with_provider_status_and_hint(script: ScriptedLLMServer):
    script.script(Fault(status=500), Fault(status=503), Fault(status=500))
    with pytest.raises(ModelCallFailed) as caught:
        complete(client(script))
    message = str(caught.value)
    assert message.startswith(
        "openai (openai/scripted) failed with 500 server error after 3 attempts"
    )
    assert "try later or another model" in message and "\n" not in message
    assert len(script.requests) == 3


def test_a_reply_with_no_choices_says_what_the_provider_returned(script: ScriptedLLMServer):
    # (A stream's last chunk has no choices either: test_streamed_reply_and_usage reads it.)
    script.script(Fault(no_choices=True), Fault(no_choices=True), Fault(no_choices=True))
    with pytest.raises(ModelCallFailed) as caught:
        complete(client(script, stream=False))
    message = str(caught.value)
    assert message.startswith("openai (openai/scripted) failed with empty reply after 3 attempts")
    assert "an empty `choices` list" in message and "index out of range" not in message
    assert "\n" not in message and len(script.requests) == 3


def test_timeouts_are_retried_then_explained(script: ScriptedLLMServer):
    script.script(Fault(delay=2, then="late"), Fault(delay=2, then="late"))
    with pytest.raises(ModelCallFailed) as caught:
        complete(client(script, timeout=0.3, retry=RetryPolicy(retries=1, base_delay=0.01)))
    assert "timeout" in str(caught.value) and "model_timeout" in str(caught.value)


def test_authentication_errors_are_not_retried(script: ScriptedLLMServer):
    script.script(Fault(status=401), "never used")
    with pytest.raises(ModelCallFailed) as caught:
        complete(client(script))
    assert "authentication error" in str(caught.value) and "API key" in str(caught.value)
    assert len(script.requests) == 1


def test_a_model_without_provider_prefix_is_explained(script: ScriptedLLMServer):
    with pytest.raises(ModelCallFailed) as caught:
        complete(client(script, model="made-up-model"))
    assert "provider prefix" in str(caught.value) and "openai/gpt-4o-mini" in str(caught.value)
    assert script.requests == []


def test_backoff_grows_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(retries=5, base_delay=1.0, max_delay=30.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0)]:
        delays = [policy.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1  # jittered
    assert policy.delay(1, retry_after=12.0) == 12.0


@pytest.mark.parametrize(("preset", "expected"), [(None, "True"), ("False", "False")])
def test_litellm_uses_its_local_price_map_unless_the_user_chose(preset, expected):
    # In a fresh process, as in a kernel: litellm reads the variable when it is imported.
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    if preset is not None:
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = preset
    check = (
        "import os\nfrom jupyter_agents.agent.model import load_litellm\nload_litellm()\n"
        "print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    )
    shown = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == expected
