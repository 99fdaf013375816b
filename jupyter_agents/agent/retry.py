"""Which model failures are worth retrying, how long to wait, and what to tell the user.

litellm raises typed exceptions (RateLimitError, Timeout, ...) but its own retry helper is
deprecated, waits a constant time and is silent, and a stream that breaks mid-reply happens
after the call returned, outside any retry litellm does. So the retry loop is ours (in
:mod:`jupyter_agents.agent.model`) and this module only classifies and explains.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..text.clipping import cut

#: The failure kind for a prompt longer than the model's context window.
CONTEXT_OVERFLOW = "context window exceeded"


class StreamBroken(Exception):
    """A streamed reply ended without its final chunk: the connection dropped mid-reply."""


class EmptyReply(Exception):
    """A reply that parsed but held nothing to read: an empty ``choices`` list."""


@dataclass(frozen=True)
class ModelFailure:
    """One failed model call, explained."""

    retryable: bool
    provider: str
    status: int | None
    kind: str
    detail: str
    hint: str
    retry_after: float | None = None

    def message(self, model: str, attempts: int) -> str:
        status = f" {self.status}" if self.status else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return (
            f"{self.provider} ({model}) failed with{status} {self.kind}{tries}: {self.detail} "
            f"-> {self.hint}"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's Retry-After wins when it asks for longer."""

    retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = backoff * random.uniform(0.5, 1.0)
        if retry_after is not None:
            return min(max(jittered, retry_after), self.max_delay * 2)
        return jittered


def classify(error: BaseException, model: str, litellm: Any, timeout: float) -> ModelFailure:
    """Explain ``error`` from a litellm call: retryable or not, and what the user can do."""
    status = getattr(error, "status_code", None)
    status = status if isinstance(status, int) else None
    provider = getattr(error, "llm_provider", None) or _provider_in_messages(model)
    detail = _short(error)

    def failure(retryable: bool, kind: str, hint: str) -> ModelFailure:
        return ModelFailure(retryable, provider, status, kind, detail, hint, _retry_after(error))

    mid_stream = getattr(litellm.exceptions, "MidStreamFallbackError", ())
    if isinstance(error, StreamBroken) or (mid_stream and isinstance(error, mid_stream)):
        return failure(True, "broken stream", "the reply stopped mid-way; try again later")
    if isinstance(error, EmptyReply):
        return failure(
            True,
            "empty reply",
            "check that the endpoint (OPENAI_API_BASE, ...) is a chat-completions API; if it "
            "keeps happening, try another model",
        )
    if isinstance(error, litellm.RateLimitError):
        return failure(True, "rate limit", "wait a minute, or check the plan and quota of your key")
    if isinstance(error, litellm.Timeout):
        return failure(
            True,
            "timeout",
            f"no answer within {timeout:g} s; raise it with `%agent_config model_timeout=300` "
            "or use a faster model",
        )
    if isinstance(error, litellm.APIConnectionError):
        return failure(
            True,
            "connection error",
            "check the endpoint (OPENAI_API_BASE, OLLAMA_API_BASE, ...) and that the server is up",
        )
    if isinstance(error, litellm.ContextWindowExceededError):
        return failure(
            False,
            CONTEXT_OVERFLOW,
            "the conversation is too long for this model, even with older steps shortened; "
            "lower context_tokens or observation_tokens, or use a model with a larger context "
            "window",
        )
    if isinstance(error, litellm.AuthenticationError):
        return failure(False, "authentication error", f"check the API key for {provider}")
    if isinstance(error, litellm.PermissionDeniedError):
        return failure(False, "permission denied", "the key has no access to this model")
    if isinstance(error, litellm.NotFoundError):
        return failure(False, "not found", f"check the model name {model!r}")
    if "LLM Provider NOT provided" in str(error):
        return failure(
            False,
            "unknown provider",
            "give the model with its litellm provider prefix, e.g. openai/gpt-4o-mini, "
            "anthropic/claude-sonnet-4-5, ollama_chat/qwen2.5-coder",
        )
    if (
        status is not None
        and status >= 500
        or isinstance(error, (litellm.InternalServerError, litellm.ServiceUnavailableError))
    ):
        return failure(True, "server error", "the provider is failing; try later or another model")
    return failure(False, "error", "see the provider's message")


def _provider_in_messages(model: str) -> str:
    """The provider a message names: litellm's prefix, else a phrase (telemetry maps names)."""
    return model.split("/", 1)[0] if "/" in model else "the model provider"


def _short(error: BaseException, limit: int = 240) -> str:
    """The first informative line of a provider error, without litellm's class-name prefixes."""
    text = str(error).strip() or type(error).__name__
    line = next((part for part in text.splitlines() if part.strip()), text).strip()
    for prefix in ("litellm.", "OpenAIException - ", "AnthropicException - "):
        while prefix in line[: len(prefix) + 60]:
            line = line.split(prefix, 1)[-1]
    return cut(line, limit)


def _retry_after(error: BaseException) -> float | None:
    # litellm keeps the provider's headers here; error.response is a synthetic response.
    headers = getattr(error, "litellm_response_headers", None) or getattr(
        getattr(error, "response", None), "headers", None
    )
    if not headers:
        return None
    try:
        return float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None
