"""Optional OpenTelemetry spans, following the GenAI semantic conventions.

One span per run (``invoke_agent``), per step, per model call (``chat {model}``) and per cell
execution (``execute_tool run_cell``), nested in that order. Only the OpenTelemetry *API* is
used (``pip install "jupyter-agents[otel]"``): without it every span is a no-op, and with it
nothing is exported until the user sets up an SDK tracer provider with an exporter, as
OpenTelemetry intends. Span attributes carry model names, token counts, statuses and
durations, never prompts, code or outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._version import __version__

try:
    from opentelemetry import trace
except ImportError:  # the otel extra is not installed
    trace = None  # type: ignore[assignment]


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` around the block (None when OpenTelemetry is not installed).

    Attribute names use ``__`` for ``.`` (``gen_ai__request__model``); None values are left
    out. The span records an exception that escapes the block, as usual.
    """
    if trace is None:
        yield None
        return
    tracer = trace.get_tracer("jupyter_agents", __version__)
    with tracer.start_as_current_span(name, attributes=_attributes(attributes)) as current:
        yield current


def set_attributes(current: Any, **attributes: Any) -> None:
    """Add attributes known only at the end (token counts, status) to a span from :func:`span`."""
    if current is not None:
        current.set_attributes(_attributes(attributes))


def _attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("__", "."): value for key, value in attributes.items() if value is not None}


def provider_of(model: str) -> str:
    """The GenAI provider name of a litellm model string (``openai/gpt-4o`` -> ``openai``)."""
    return model.split("/", 1)[0] if "/" in model else "openai"
