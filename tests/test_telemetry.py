"""OpenTelemetry spans from a real run, collected by the real SDK's in-memory exporter."""

from __future__ import annotations

import json

import pytest

from tests.support.kernel import KernelHarness
from tests.support.llm_server import Fault, ScriptedLLMServer
from tests.support.replies import code

pytestmark = pytest.mark.kernel

SETUP = """\
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
if "otel_exporter" not in globals():  # a tracer provider can be set once per process
    otel_exporter = InMemorySpanExporter()
    otel_provider = TracerProvider()
    otel_provider.add_span_processor(SimpleSpanProcessor(otel_exporter))
    trace.set_tracer_provider(otel_provider)
otel_exporter.clear()
"""

DUMP = """\
import json
print(json.dumps([
    {"name": s.name, "id": s.context.span_id, "parent": s.parent.span_id if s.parent else None,
     "kind": s.kind.name, "attributes": dict(s.attributes)}
    for s in otel_exporter.get_finished_spans()
]))
"""


def test_a_run_is_traced_with_gen_ai_spans(agent_kernel: KernelHarness, script: ScriptedLLMServer):
    assert agent_kernel.execute(SETUP).status == "ok"
    script.script(code("otel_x = 1"), code("final_answer(otel_x + 1)"))
    run = agent_kernel.execute("%agent --approve auto Trace me", timeout=60)
    assert run.status == "ok", run.error_text

    spans = json.loads(agent_kernel.execute(DUMP).stdout)
    by_name: dict[str, list[dict]] = {}
    for item in spans:
        by_name.setdefault(item["name"], []).append(item)
    [agent] = by_name["invoke_agent agent"]
    steps = by_name["step 1"] + by_name["step 2"]
    assert all(step["parent"] == agent["id"] for step in steps)
    assert [step["attributes"]["jupyter_agents.status"] for step in steps] == ["auto", "auto"]
    chats = by_name["chat scripted"]
    cells = by_name["execute_tool run_cell"]
    assert len(chats) == 2 and len(cells) == 2
    step_ids = [step["id"] for step in steps]
    assert [chat["parent"] for chat in chats] == step_ids  # each call inside its step
    assert [cell["parent"] for cell in cells] == step_ids
    assert cells[0]["attributes"]["gen_ai.tool.name"] == "run_cell"
    assert chats[0]["attributes"]["gen_ai.operation.name"] == "chat"
    assert chats[0]["attributes"]["gen_ai.provider.name"] == "openai"
    assert chats[0]["attributes"]["gen_ai.request.model"] == "scripted"
    assert chats[0]["kind"] == "CLIENT" and agent["kind"] == "INTERNAL"
    assert not any("error.type" in item["attributes"] for item in spans)
    assert chats[0]["attributes"]["gen_ai.usage.input_tokens"] > 0
    attributes = agent["attributes"]
    assert attributes["gen_ai.operation.name"] == "invoke_agent"
    assert attributes["jupyter_agents.status"] == "completed"
    assert attributes["jupyter_agents.steps"] == 2
    assert attributes["gen_ai.usage.output_tokens"] > 0
    text = json.dumps(spans)
    assert "Trace me" not in text and "otel_x" not in text  # no prompts or code in spans


def test_a_failed_model_call_sets_error_type(
    agent_kernel: KernelHarness, script: ScriptedLLMServer
):
    assert agent_kernel.execute(SETUP).status == "ok"
    script.script(Fault(status=400, message="bad request"))
    run = agent_kernel.execute("%agent --approve auto Fail", timeout=60)
    assert run.status == "error"

    spans = json.loads(agent_kernel.execute(DUMP).stdout)
    [chat] = [item for item in spans if item["name"] == "chat scripted"]
    [agent] = [item for item in spans if item["name"] == "invoke_agent agent"]
    assert chat["attributes"]["error.type"] == "ModelCallFailed"
    assert agent["attributes"]["jupyter_agents.status"] == "failed"
    assert agent["attributes"]["error.type"] == "ModelCallFailed"


def test_without_a_configured_tracer_provider_nothing_is_recorded():
    # The test process never sets a provider: the API's default records (so exports) nothing.
    from jupyter_agents.agent.telemetry import span

    with span("chat scripted", client=True, gen_ai__request__model="scripted") as current:
        assert current is not None and not current.is_recording()
