"""Calling the model through litellm: streaming, token and cost accounting, retries.

litellm is imported on the first call, never at ``%load_ext``: importing it takes seconds and
over 150 MB. Before that import, ``LITELLM_LOCAL_MODEL_COST_MAP`` defaults to True, or litellm
tries to download a price map from the internet (and retries for seconds when offline).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.errors import ContextOverflow, ModelCallFailed
from ..core.steps import Usage
from .retry import CONTEXT_OVERFLOW, EmptyReply, ModelFailure, RetryPolicy, StreamBroken, classify
from .telemetry import model_name, provider_of, set_attributes, span

TextCallback = Callable[[str], None]
RetryCallback = Callable[[ModelFailure, int, float], None]


def load_litellm() -> Any:
    """Import litellm, configured for use inside a notebook kernel."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # Otherwise litellm prints "Give Feedback / Get Help" banners into the user's cell.
    litellm.suppress_debug_info = True
    return litellm


@dataclass
class ModelReply:
    text: str
    usage: Usage
    seconds: float
    attempts: int
    #: The model stopped at its output token limit (``finish_reason == "length"``): the reply
    #: is incomplete, and code in it must not run.
    truncated: bool = False


class ModelClient:
    """One model, called with a list of chat messages; retries transient failures."""

    def __init__(
        self,
        model: str,
        *,
        stream: bool = True,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        extra: dict[str, Any] | None = None,
        on_reply: Callable[[list[dict[str, str]], str], None] | None = None,
    ) -> None:
        self.model = model
        #: Told of every completed call (messages sent, reply text): the run emits it as
        #: a ModelReplied event, which the transcript keeps.
        self.on_reply = on_reply
        self.stream = stream
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.extra = dict(extra or {})

    async def complete(
        self,
        messages: list[dict[str, str]],
        on_text: TextCallback | None = None,
        on_retry: RetryCallback | None = None,
    ) -> ModelReply:
        """The model's reply to ``messages``. Raises :class:`ModelCallFailed` when it gives up.

        ``on_text`` receives text as it streams in; ``on_retry(failure, attempt, delay)`` is
        called before each retry, so a view can discard the partial text and say why it waits.
        """
        with span(
            f"chat {model_name(self.model)}",
            client=True,
            gen_ai__operation__name="chat",
            gen_ai__provider__name=provider_of(self.model),
            gen_ai__request__model=model_name(self.model),
        ) as call_span:
            reply = await self._with_retries(messages, on_text, on_retry)
            set_attributes(
                call_span,
                gen_ai__usage__input_tokens=reply.usage.prompt_tokens,
                gen_ai__usage__output_tokens=reply.usage.completion_tokens,
                jupyter_agents__attempts=reply.attempts,
            )
            return reply

    async def _with_retries(
        self,
        messages: list[dict[str, str]],
        on_text: TextCallback | None,
        on_retry: RetryCallback | None,
    ) -> ModelReply:
        litellm = load_litellm()
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                text, reported, finish_reason = await self._attempt(litellm, messages, on_text)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failure = classify(error, self.model, litellm, self.timeout)
                if not failure.retryable or attempt > self.retry.retries:
                    kind = ContextOverflow if failure.kind == CONTEXT_OVERFLOW else ModelCallFailed
                    raise kind(failure.message(self.model, attempt)) from error
                delay = self.retry.delay(attempt, failure.retry_after)
                if on_retry is not None:
                    on_retry(failure, attempt, delay)
                await asyncio.sleep(delay)
                continue
            usage = self._usage(litellm, reported, messages, text)
            if self.on_reply is not None:
                self.on_reply(messages, text)
            seconds = time.perf_counter() - started
            return ModelReply(text, usage, seconds, attempt, truncated=finish_reason == "length")

    async def _attempt(
        self, litellm: Any, messages: list[dict[str, str]], on_text: TextCallback | None
    ) -> tuple[str, Any, str | None]:
        """One request: the reply text, the usage the provider reported (if any), and why the
        model stopped (``finish_reason``)."""
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "timeout": self.timeout,
            # Our loop retries (with feedback in the widget); don't multiply it with the SDK's.
            "max_retries": 0,
            "drop_params": True,
            **self.extra,
        }
        if not self.stream:
            response = await litellm.acompletion(**arguments)
            if not response.choices:  # (a stream's last chunk has none either: that is fine)
                raise EmptyReply("the reply had an empty `choices` list: no text, no finish reason")
            choice = response.choices[0]
            text = choice.message.content or ""
            if on_text is not None and text:
                on_text(text)
            return text, getattr(response, "usage", None), choice.finish_reason
        stream = await litellm.acompletion(
            **arguments, stream=True, stream_options={"include_usage": True}
        )
        parts: list[str] = []
        usage = None
        finish_reason: str | None = None
        async for chunk in stream:
            usage = getattr(chunk, "usage", None) or usage
            for choice in chunk.choices or ():
                delta = getattr(choice.delta, "content", None)
                if delta:
                    parts.append(delta)
                    if on_text is not None:
                        on_text(delta)
                finish_reason = finish_reason or choice.finish_reason
        if not finish_reason:
            raise StreamBroken("the reply stream ended before the model finished")
        return "".join(parts), usage, finish_reason

    def _usage(
        self, litellm: Any, reported: Any, messages: list[dict[str, str]], text: str
    ) -> Usage:
        prompt = getattr(reported, "prompt_tokens", 0) or 0
        completion = getattr(reported, "completion_tokens", 0) or 0
        if not prompt:
            prompt = _count_tokens(litellm, self.model, messages=messages)
        if not completion:
            completion = _count_tokens(litellm, self.model, text=text)
        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.model, prompt_tokens=prompt, completion_tokens=completion
            )
            cost: float | None = float(prompt_cost) + float(completion_cost)
        except Exception:  # litellm raises for models it has no price for
            cost = None
        return Usage(prompt, completion, cost)


def _count_tokens(litellm: Any, model: str, **what: Any) -> int:
    try:
        return int(litellm.token_counter(model=model, **what))
    except Exception:
        return 0
