"""A loopback OpenAI-compatible chat endpoint that streams tokens at a set pace and notes
when each one left.

The browser measure needs to know when each streamed token arrived, to time how long it takes
to become visible. tests/support/llm_server.py streams fixed-size pieces and keeps no send
times, so this server, made for that one measure, takes each scripted reply as a list of
tokens, sends one SSE event per token with ``interval`` seconds between them, and records
``time.time()`` right after each token's bytes are written to the socket (loopback: they reach
the kernel well under a millisecond later). Only streaming requests are supported: our agent
streams by default.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        owner: PacedModelServer = self.server.owner
        tokens = owner._next()
        if tokens is None or not body.get("stream"):
            data = json.dumps(
                {
                    "error": {
                        "message": "paced server: no reply or not streaming",
                        "type": "invalid_request_error",
                    }
                }
            ).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {
            "id": "chatcmpl-paced",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
        }

        def event(payload: Any) -> None:
            raw = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw.encode()), raw.encode()))

        def choice(delta: dict, finish: str | None = None) -> dict:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        event(choice({"role": "assistant", "content": ""}))
        for index, token in enumerate(tokens):
            if index:
                time.sleep(owner.interval)
            event(choice({"content": token}))
            owner._sent(token)
        event(choice({}, "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            text = "".join(tokens)
            event(
                {
                    **base,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": 1,
                        "completion_tokens": max(1, len(text) // 4),
                        "total_tokens": 1 + max(1, len(text) // 4),
                    },
                }
            )
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


class PacedModelServer:
    """Streams each scripted reply (a list of tokens) ``interval`` seconds apart."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        #: (token, time.time() just after it was written), in sending order.
        self.sent: list[tuple[str, float]] = []
        self._replies: deque[list[str]] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, *replies: list[str]) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _next(self) -> list[str] | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _sent(self, token: str) -> None:
        stamp = time.time()
        with self._lock:
            self.sent.append((token, stamp))

    def __enter__(self) -> PacedModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
