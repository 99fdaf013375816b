"""Optional OpenTelemetry spans, following the GenAI semantic conventions.

One span per run (``invoke_agent``), per step, per model call (``chat {model}``) and per cell
execution (``execute_tool run_cell``), nested in that order. Only the OpenTelemetry *API* is
used (``pip install "jupyter-agents[otel]"``): without it every span is a no-op, and with it
nothing is exported until the user sets up an SDK tracer provider with an exporter, as
OpenTelemetry intends. Span attributes carry model names, token counts, statuses and
durations, never prompts, code or outputs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._version import __version__
from ..kernel.control import StopRequested

try:
    from opentelemetry import trace
except ImportError:  # the otel extra is not installed
    trace = None  # type: ignore[assignment]


@contextmanager
def span(name: str, client: bool = False, **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` around the block (None when OpenTelemetry is not installed).

    Attribute names use ``__`` for ``.`` (``gen_ai__request__model``); None values are left
    out. ``client`` marks a call to a remote service (a model call), as the conventions ask.
    An exception that escapes the block is recorded, and its type set as ``error.type``.
    """
    if trace is None:
        yield None
        return
    tracer = trace.get_tracer("jupyter_agents", __version__)
    kind = trace.SpanKind.CLIENT if client else trace.SpanKind.INTERNAL
    with tracer.start_as_current_span(
        name, kind=kind, attributes=_attributes(attributes)
    ) as current:
        try:
            yield current
        except BaseException as error:
            if not _ends_on_purpose(error):
                current.set_attribute("error.type", type(error).__qualname__)
            raise


def _ends_on_purpose(error: BaseException) -> bool:
    """Stop (a cancellation, StopRequested) ends spans early, but it is not an error."""
    return isinstance(error, (asyncio.CancelledError, StopRequested))


def set_attributes(current: Any, **attributes: Any) -> None:
    """Add attributes known only at the end (token counts, status) to a span from :func:`span`."""
    if current is not None:
        current.set_attributes(_attributes(attributes))


def _attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("__", "."): value for key, value in attributes.items() if value is not None}


#: litellm's provider prefixes whose GenAI semantic-convention name differs.
_PROVIDER_NAMES = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "ollama_chat": "ollama",
}


def provider_of(model: str) -> str:
    """The GenAI provider name of a litellm model string (``openai/gpt-4o`` -> ``openai``)."""
    prefix = model.split("/", 1)[0] if "/" in model else "openai"
    return _PROVIDER_NAMES.get(prefix, prefix)


def model_name(model: str) -> str:
    """The model's own name, without litellm's provider prefix (``gpt-4o``)."""
    return model.split("/", 1)[1] if "/" in model else model
