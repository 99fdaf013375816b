"""Loopback OpenAI-compatible chat-completions server with scripted replies.

Why: tests and benchmarks must go through litellm's *real* HTTP path (OpenAI
SDK -> httpx/aiohttp -> socket), not a mock, so that streaming, timeouts and
error mapping behave as in production. Use ``model="openai/<anything>"``,
``api_base=srv.base_url``, ``api_key="sk-test"`` (or ``OPENAI_API_BASE`` /
``OPENAI_API_KEY`` in a kernel subprocess). Each ``POST /v1/chat/completions``
consumes the next scripted reply: a ``str`` (the content) or a :class:`Fault`.

What litellm 1.106 raises (sync and async), asserted in tests/test_llm_server.py:

* script exhausted (HTTP 400)   -> ``litellm.BadRequestError``
* ``Fault(status=429)``         -> ``litellm.RateLimitError``; Retry-After is in
  ``exc.litellm_response_headers`` (``exc.response`` is synthetic, no headers)
* ``Fault(status=500)`` / 503   -> ``litellm.InternalServerError`` /
  ``litellm.ServiceUnavailableError`` (same classes when streaming)
* ``Fault(delay=2)``, timeout=.5 -> ``litellm.Timeout`` (streamed or not)
* ``Fault(garbage=True)``       -> ``litellm.InternalServerError`` (JSON decode);
  streamed -> ``MidStreamFallbackError``
* ``Fault(cut_after=N)``        -> non-streamed: ``litellm.InternalServerError``
  ("Connection error."). Streamed: the chunks with the first N characters
  arrive, then iteration raises ``litellm.exceptions.MidStreamFallbackError``
  (subclass of ServiceUnavailableError, not exported as ``litellm.X``) whose
  ``original_exception`` is a ``litellm.APIConnectionError`` ("incomplete
  chunked read") and ``generated_content`` the text so far. It never ends
  silently: the body is chunked and its terminating chunk is missing.

litellm wraps any error raised while *iterating* a stream in
MidStreamFallbackError, even before any content has arrived.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

__all__ = ["Fault", "RecordedRequest", "Reply", "ScriptedLLMServer"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


@dataclass
class Fault:
    """A misbehaving reply; occupies one slot in the script.

    ``status``: answer with an OpenAI-style error JSON and that HTTP status
    (``retry_after`` adds a ``Retry-After`` header). ``delay``: sleep that many
    seconds first (for client timeouts), then answer ``then`` normally (or
    apply the other fields). ``cut_after``: streamed, send the first N
    characters of ``then`` and drop the connection without ``[DONE]``
    (non-streamed: drop it after N bytes of the JSON body).
    ``garbage``: HTTP 200 whose body is neither JSON nor SSE. ``finish_reason``: why the
    model says it stopped (``"length"``: cut at its output token limit). ``no_choices``: a
    well-formed reply whose ``choices`` list is empty (streamed: only the usage chunk, which
    has an empty ``choices`` list in every stream, as llama.cpp and OpenAI send it).
    """

    status: int | None = None
    message: str | None = None
    retry_after: str | float | None = None
    delay: float = 0.0
    then: str = ""
    cut_after: int | None = None
    garbage: bool = False
    finish_reason: str = "stop"
    no_choices: bool = False


Reply = Union[str, Fault]  # noqa: UP007 (a runtime alias, kept readable on 3.10)


@dataclass
class RecordedRequest:
    """One request as the server saw it (header names are lower-cased)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", False))

    @property
    def last_user_text(self) -> str:
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return _text(msg.get("content"))
        return ""

    @property
    def system_text(self) -> str:
        return "".join(_text(m.get("content")) for m in self.messages if m.get("role") == "system")


def _text(content: Any) -> str:
    """A message's text, whether its content is a string or a list of text parts."""
    if isinstance(content, str):
        return content
    return "".join(
        p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"
    )


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 for chunked streaming. Every reply says "Connection: close" so no
    # pooled keep-alive socket outlives stop() and reaches a stale handler.
    protocol_version = "HTTP/1.1"
    server: Any  # ThreadingHTTPServer with an ``owner`` attribute

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # tests read srv.requests; access logs would only add noise

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:  # BrokenPipe/Reset/Aborted: the client hung up
            pass  # (timeout, cancelled stream); that is the test's point, not a bug

    def _send(
        self,
        status: int,
        ctype: str,
        data: bytes,
        extra: dict | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.send_header("Connection", "close")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, extra: dict | None = None) -> None:
        etype = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
        err = {"error": {"message": message, "type": etype, "param": None, "code": etype}}
        self._send(status, "application/json", json.dumps(err).encode(), extra)

    def _drop(self) -> None:
        """Close the socket mid-body, like a crashed upstream or a dead proxy."""
        self.close_connection = True
        self.connection.shutdown(2)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            models = {
                "object": "list",
                "data": [{"id": "scripted", "object": "model", "created": 0, "owned_by": "tests"}],
            }
            self._send(200, "application/json", json.dumps(models).encode())
        else:
            self._send_error(404, f"scripted LLM server: no route GET {self.path}")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_error(404, f"scripted LLM server: no route POST {self.path}")
            return
        number, reply = self.server.owner._take(
            RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if reply is None:
            # 400, not 5xx/429: the OpenAI SDK retries those, which would hide a
            # too-short script behind slow, confusing retries. 400 fails at once.
            self._send_error(
                400, f"scripted LLM server: no scripted reply left for request #{number}"
            )
        else:
            self._answer(number, body, reply)

    def _answer(self, number: int, body: dict, reply: Reply) -> None:
        fault = reply if isinstance(reply, Fault) else Fault(then=reply)
        stream = bool(body.get("stream"))
        if fault.delay and self.server.owner._stopping.wait(fault.delay):
            return  # server stopping: don't keep stop() waiting
        if fault.status is not None:
            extra = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            self._send_error(
                fault.status, fault.message or f"scripted fault: HTTP {fault.status}", extra
            )
        elif fault.garbage:  # streamed: SSE framing around a non-JSON payload,
            # since a body with no "data:" line at all reads as an empty stream
            self._send(
                200,
                "text/event-stream" if stream else "application/json",
                b"data: <html>not JSON {{{\n\n" if stream else b"<html>not JSON {{{",
            )
        elif stream:
            self._stream(number, body, fault)
        elif fault.cut_after is not None:  # announce the full length, send less
            data = json.dumps(_completion(number, body, fault)).encode()
            self._send(200, "application/json", data[: fault.cut_after], length=len(data))
            self._drop()
        else:
            data = json.dumps(_completion(number, body, fault)).encode()
            self._send(200, "application/json", data)

    def _stream(self, number: int, body: dict, fault: Fault) -> None:
        owner, base = self.server.owner, _base(number, body, "chat.completion.chunk")
        self.send_response(200)
        for key, value in (
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
        ):
            self.send_header(key, value)
        self.end_headers()

        def event(payload: Any) -> None:  # one SSE event per HTTP chunk, unbuffered
            raw = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw.encode()), raw.encode()))
            if owner.chunk_delay:
                owner._stopping.wait(owner.chunk_delay)

        def choice(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        if fault.no_choices:
            event({**base, "choices": [], "usage": _usage(body, "")})
            event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            return
        event(choice({"role": "assistant", "content": ""}))
        text = fault.then if fault.cut_after is None else fault.then[: fault.cut_after]
        step = max(1, owner.chunk_chars)
        for i in range(0, len(text), step):
            event(choice({"content": text[i : i + step]}))
        if fault.cut_after is not None:
            self._drop()  # no [DONE], no terminating zero-length chunk
            return
        event(choice({}, fault.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            event({**base, "choices": [], "usage": _usage(body, fault.then)})
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


def _base(number: int, body: dict, obj: str) -> dict:
    return {
        "id": f"chatcmpl-scripted-{number}",
        "object": obj,
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
    }


def _usage(body: dict, content: str) -> dict[str, int]:
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = max(1, len(content) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(number: int, body: dict, fault: Fault) -> dict:
    if fault.no_choices:
        return {**_base(number, body, "chat.completion"), "choices": [], "usage": _usage(body, "")}
    return {
        **_base(number, body, "chat.completion"),
        "choices": [
            {
                "index": 0,
                "finish_reason": fault.finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": fault.then},
            }
        ],
        "usage": _usage(body, fault.then),
    }


class ScriptedLLMServer:
    """OpenAI-compatible server on 127.0.0.1 that answers from a FIFO script.

    ``chunk_chars`` is the streamed piece size; ``chunk_delay`` the pause in
    seconds after each SSE event (to make streaming observable in UIs).
    """

    def __init__(
        self,
        *replies: Reply,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_chars: int = 8,
        chunk_delay: float = 0.0,
    ) -> None:
        self.host, self.port = host, port
        self.chunk_chars, self.chunk_delay = chunk_chars, chunk_delay
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque(replies)
        #: Replies routed by a text their request's system prompt contains (crew roles).
        self._routes: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *replies: Reply) -> ScriptedLLMServer:
        """Append replies; each chat-completions request consumes one."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def script_for(self, system_text: str, *replies: Reply) -> ScriptedLLMServer:
        """Append replies for requests whose system prompt contains ``system_text``.

        A crew's roles (and its manager) each have their own system prompt, so tests can
        script each role's replies apart, whatever order the roles end up speaking in.
        Requests that match no route take from the plain :meth:`script` queue.
        """
        with self._lock:
            self._routes.setdefault(system_text, deque()).extend(replies)
        return self

    def reset(self) -> None:
        """Forget pending replies, routes and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._routes.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + sum(len(queue) for queue in self._routes.values())

    def _take(self, req: RecordedRequest) -> tuple[int, Reply | None]:
        with self._lock:
            self.requests.append(req)
            system = req.system_text
            for text, queue in self._routes.items():
                if text in system:
                    return len(self.requests), (queue.popleft() if queue else None)
            return len(self.requests), (self._queue.popleft() if self._queue else None)

    def start(self) -> ScriptedLLMServer:
        if self._httpd is None:
            self._stopping.clear()
            # daemon handler threads: one stuck in a delay never blocks exit
            self._httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
            self._httpd.owner = self  # type: ignore[attr-defined]
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(  # short poll: stop() in ~50 ms
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="scripted-llm-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._stopping.set()  # wake handlers sleeping in Fault(delay=...)
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)  # type: ignore[union-attr]
            self._httpd = self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--script", help="JSON list of replies: strings, or objects of Fault fields"
    )
    parser.add_argument("--chunk-chars", type=int, default=8)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    replies: list[Reply] = []
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            replies = [r if isinstance(r, str) else Fault(**r) for r in json.load(fh)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # clean stop on kill
    with ScriptedLLMServer(
        *replies,
        host=args.host,
        port=args.port,
        chunk_chars=args.chunk_chars,
        chunk_delay=args.chunk_delay,
    ) as srv:
        print(srv.base_url, flush=True)  # first stdout line: parents read the URL
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
