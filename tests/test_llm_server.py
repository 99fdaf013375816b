"""Tests of the scripted LLM server through litellm's real HTTP client path."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no internet here

import pytest
from litellm.exceptions import MidStreamFallbackError  # not exported as litellm.X

from tests.support.llm_server import Fault, RecordedRequest, ScriptedLLMServer

ROOT = Path(__file__).resolve().parent.parent
TEXT = "The quick brown fox jumps over the lazy dog."
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def litellm():
    import litellm

    litellm.suppress_debug_info = True
    return litellm


@pytest.fixture
def srv():
    with ScriptedLLMServer() as server:
        yield server


def kwargs(srv: ScriptedLLMServer, **extra):
    return {
        "model": "openai/scripted-test",
        "api_base": srv.base_url,
        "api_key": "sk-test",
        "messages": MESSAGES,
        "max_retries": 0,
        **extra,
    }


def acomplete(litellm, srv, **extra):
    return asyncio.run(litellm.acompletion(**kwargs(srv, **extra)))


async def _astream(litellm, srv, got: list, **extra):
    stream = await litellm.acompletion(stream=True, **kwargs(srv, **extra))
    async for chunk in stream:
        got.append(chunk)
    return got


def astream(litellm, srv, **extra) -> list:
    return asyncio.run(_astream(litellm, srv, [], **extra))


def text_of(chunks) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_non_streamed_reply_content_and_usage(litellm, srv):
    srv.script(TEXT)
    resp = acomplete(litellm, srv)
    assert resp.choices[0].message.content == TEXT
    assert resp.choices[0].finish_reason == "stop"
    prompt = max(1, len(json.dumps(MESSAGES)) // 4)
    assert resp.usage.prompt_tokens == prompt
    assert resp.usage.completion_tokens == len(TEXT) // 4
    assert resp.usage.total_tokens == prompt + len(TEXT) // 4
    assert srv.pending == 0


def test_sync_completion_also_works(litellm, srv):
    srv.script("sync reply")
    resp = litellm.completion(**kwargs(srv))
    assert resp.choices[0].message.content == "sync reply"


def test_streamed_reply_reassembles_with_usage(litellm, srv):
    srv.script(TEXT)
    chunks = astream(litellm, srv, stream_options={"include_usage": True})
    assert text_of(chunks) == TEXT
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 6
    usages = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert usages and usages[-1].completion_tokens == len(TEXT) // 4
    assert srv.requests[0].stream is True


def test_streamed_chunk_size_is_configurable_and_sync_stream_works(litellm):
    with ScriptedLLMServer("abcdefghij", chunk_chars=3) as srv:
        chunks = list(litellm.completion(stream=True, **kwargs(srv)))
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["abc", "def", "ghi", "j"]


def test_stream_without_include_usage_sends_no_usage_chunk(srv):
    srv.script("ok")
    req = urllib.request.Request(
        srv.base_url + "/chat/completions",
        method="POST",
        data=json.dumps({"model": "m", "messages": MESSAGES, "stream": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        lines = [ln for ln in resp.read().decode().splitlines() if ln]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in e for e in events)


def test_request_log_holds_messages_and_headers(litellm, srv):
    srv.script("a", "b")
    acomplete(litellm, srv)
    parts = [{"type": "text", "text": "look at "}, {"type": "text", "text": "this"}]
    acomplete(litellm, srv, messages=[{"role": "user", "content": parts}])
    first, second = srv.requests
    assert isinstance(first, RecordedRequest)
    assert first.path == "/v1/chat/completions"
    assert first.messages == MESSAGES and first.last_user_text == "hi"
    assert first.stream is False and first.body["model"] == "scripted-test"
    assert first.headers["authorization"] == "Bearer sk-test"
    assert second.last_user_text == "look at this"
    srv.reset()
    assert srv.requests == [] and srv.pending == 0


def test_env_configuration_reaches_server(litellm, srv, monkeypatch):
    monkeypatch.setenv("OPENAI_API_BASE", srv.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    srv.script("via env")
    resp = asyncio.run(litellm.acompletion(model="openai/x", messages=MESSAGES, max_retries=0))
    assert resp.choices[0].message.content == "via env"


def test_models_endpoint(srv):
    with urllib.request.urlopen(srv.base_url + "/models", timeout=5) as resp:
        data = json.load(resp)
    assert [m["id"] for m in data["data"]] == ["scripted"]


def test_exhaustion_is_bad_request(litellm, srv):
    srv.script("only one")
    acomplete(litellm, srv)
    with pytest.raises(litellm.BadRequestError, match="no scripted reply left for request #2"):
        acomplete(litellm, srv)
    assert len(srv.requests) == 2


def test_rate_limit_fault(litellm, srv):
    srv.script(Fault(status=429, retry_after="7"))
    with pytest.raises(litellm.RateLimitError) as info:
        acomplete(litellm, srv)
    assert info.value.status_code == 429
    # e.response is a synthetic httpx.Response without the server's headers;
    # litellm keeps the real ones in litellm_response_headers.
    assert info.value.litellm_response_headers["retry-after"] == "7"


@pytest.mark.parametrize(
    "status, exc", [(500, "InternalServerError"), (503, "ServiceUnavailableError")]
)
def test_server_error_faults(litellm, srv, status, exc):
    srv.script(Fault(status=status), Fault(status=status))
    with pytest.raises(getattr(litellm, exc)) as info:
        acomplete(litellm, srv)
    assert type(info.value) is getattr(litellm, exc)
    with pytest.raises(getattr(litellm, exc)):  # same class when streaming
        astream(litellm, srv)


def test_cut_stream_raises_after_partial_content(litellm, srv):
    srv.script(Fault(cut_after=10, then="0123456789abcdefghij"))
    got: list = []
    with pytest.raises(MidStreamFallbackError) as info:
        asyncio.run(_astream(litellm, srv, got))
    assert isinstance(info.value, litellm.ServiceUnavailableError)
    assert isinstance(info.value.original_exception, litellm.APIConnectionError)
    assert text_of(got) == "0123456789"
    assert info.value.generated_content == "0123456789"


def test_cut_stream_sync_client_too(litellm, srv):
    srv.script(Fault(cut_after=3, then="abcdef"))
    got = []
    with pytest.raises(MidStreamFallbackError):
        for chunk in litellm.completion(stream=True, **kwargs(srv)):
            got.append(chunk)
    assert text_of(got) == "abc"


def test_cut_non_streamed_body_raises(litellm, srv):
    srv.script(Fault(cut_after=20, then=TEXT))
    # the SDK's APIConnectionError("Connection error.") is mapped by litellm
    # to InternalServerError, not to litellm.APIConnectionError
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        acomplete(litellm, srv)


@pytest.mark.parametrize("stream", [False, True])
def test_delay_fault_times_out(litellm, srv, stream):
    srv.script(Fault(delay=2, then="late"))
    start = time.monotonic()
    with pytest.raises(litellm.Timeout):
        (astream if stream else acomplete)(litellm, srv, timeout=0.5)
    assert time.monotonic() - start < 1.5


def test_delay_fault_then_answers(litellm, srv):
    srv.script(Fault(delay=0.2, then="late"))
    assert acomplete(litellm, srv).choices[0].message.content == "late"


def test_garbage_body_raises(litellm, srv):
    srv.script(Fault(garbage=True), Fault(garbage=True))
    with pytest.raises(litellm.InternalServerError, match="Expecting value"):
        acomplete(litellm, srv)
    with pytest.raises(MidStreamFallbackError):
        astream(litellm, srv)


def test_client_disconnects_print_nothing(litellm, srv, capfd):
    srv.script(Fault(delay=0.3, then="x" * 100_000), Fault(cut_after=2, then="abcd"))
    with pytest.raises(litellm.Timeout):
        acomplete(litellm, srv, timeout=0.1)
    with pytest.raises(MidStreamFallbackError):
        astream(litellm, srv)
    time.sleep(0.5)  # let the delayed handler write into the closed socket
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err


def test_stop_does_not_wait_for_sleeping_handler(litellm):
    srv = ScriptedLLMServer(Fault(delay=30, then="never")).start()
    with pytest.raises(litellm.Timeout):
        acomplete(litellm, srv, timeout=0.2)
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2


def test_main_entry_serves_script(litellm, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["from a subprocess", {"status": 429}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.llm_server", "--port", "0", "--script", str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        call = {
            "model": "openai/m",
            "api_base": base_url,
            "api_key": "sk-test",
            "messages": MESSAGES,
            "max_retries": 0,
        }
        resp = asyncio.run(litellm.acompletion(**call))
        assert resp.choices[0].message.content == "from a subprocess"
        with pytest.raises(litellm.RateLimitError):
            asyncio.run(litellm.acompletion(**call))
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_streamed_text_roundtrips_for_any_text(litellm):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    with ScriptedLLMServer() as srv:

        @settings(max_examples=25, deadline=None)
        @given(
            text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
            chunk_chars=st.integers(1, 12),
        )
        def check(text, chunk_chars):
            srv.chunk_chars = chunk_chars
            srv.script(text)
            chunks = list(litellm.completion(stream=True, **kwargs(srv)))
            assert text_of(chunks) == text

        check()
