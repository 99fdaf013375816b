"""How much of each step's prompt a real llama.cpp server reuses from its prompt cache.

    python -m benchmarks.prompt_cache --base http://127.0.0.1:18090/v1 [--steps 10]
        [--output-bytes 1500] [--out benchmarks/results]

Needs a llama.cpp server with an OpenAI-compatible endpoint (``../shared/localmodel`` serves
one; start it with ``--ctx 16384`` so smolagents' longer prompts fit). Not part of ``python -m
benchmarks``: it needs that server and takes minutes on a CPU.

Both systems first run the same ``steps``-step session against the scripted loopback server,
as the context measure does (each cell prints about ``output_bytes`` characters): ours in a
real kernel, smolagents' ``CodeAgent`` with its scripted model. The prompts each system sent
are then sent again, in order, to the llama.cpp server (``max_tokens=1``, so reading the
prompt is the whole cost), and the server's own counts are kept for every call: prompt tokens,
tokens it took from its cache, and milliseconds it spent reading the rest. Replaying recorded
prompts, rather than letting the small model drive, gives both systems the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .context_size import KERNEL_PREPARE, TASK, plan
from .kernels import ScriptedLLMServer, agent_line, check, ours_reply, start_agent_kernel


def ours_prompts(steps: int, output_bytes: int) -> list[list[dict[str, Any]]]:
    """The messages of each model call our kernel made in the scripted session."""
    with ScriptedLLMServer() as server, tempfile.TemporaryDirectory() as home:
        kernel = start_agent_kernel(server, Path(home), KERNEL_PREPARE)
        try:
            server.script(*(ours_reply(t, c) for t, c in plan(steps, output_bytes)))
            check(kernel.execute(agent_line(TASK, steps), timeout=300), "the session")
        finally:
            kernel.shutdown()
        return [request.messages for request in server.requests]


def smolagents_prompts(steps: int, output_bytes: int) -> list[list[dict[str, Any]]]:
    from .smol import ScriptedModel, api_messages, code_agent, smol_reply

    model = ScriptedModel(smol_reply(t, c) for t, c in plan(steps, output_bytes))
    code_agent(model, max_steps=steps, verbose=False).run(TASK)
    return [api_messages(call) for call in model.calls]


def read_prompt(base: str, messages: list[dict[str, Any]]) -> dict[str, float]:
    """One call that only reads the prompt; the server's counts for it."""
    body = {
        "model": "local",
        "messages": messages,
        "max_tokens": 1,
        "temperature": 0,
        "cache_prompt": True,
    }
    request = urllib.request.Request(
        f"{base.rstrip('/')}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-local"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=1800) as response:
        answer = json.load(response)
    usage, timings = answer.get("usage") or {}, answer.get("timings") or {}
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens", timings.get("cache_n", 0))
    return {
        "prompt_tokens": usage.get("prompt_tokens", 0),
        "cached_tokens": cached,
        "read_tokens": timings.get("prompt_n", usage.get("prompt_tokens", 0) - cached),
        "read_ms": timings.get("prompt_ms", 0.0),
        "wall_ms": (time.perf_counter() - started) * 1000,
    }


def replay(base: str, calls: list[list[dict[str, Any]]], label: str) -> list[dict[str, float]]:
    counts = []
    for number, messages in enumerate(calls, 1):
        counts.append(read_prompt(base, messages))
        last = counts[-1]
        print(
            f"  {label} step {number}: {last['prompt_tokens']:,} tokens, "
            f"{last['cached_tokens']:,} from the cache, read {last['read_ms'] / 1000:.1f} s",
            flush=True,
        )
    return counts


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    """The per-step table and the totals, as Markdown."""
    sides = list(results)
    lines = [
        "## Prompt-cache reuse on a real llama.cpp server",
        "",
        f"A {args.steps}-step session, each cell printing about {args.output_bytes:,} "
        f"characters; the prompts replayed to {args.base} (run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "",
        "| step | " + " | ".join(f"{side}: prompt / cached / read s" for side in sides) + " |",
        "| --- |" + " --- |" * len(sides),
    ]
    for index in range(max(len(counts) for counts in results.values())):
        cells = []
        for side in sides:
            if index < len(results[side]):
                c = results[side][index]
                cells.append(
                    f"{c['prompt_tokens']:,} / {c['cached_tokens']:,} / {c['read_ms'] / 1000:.1f}"
                )
            else:
                cells.append("")
        lines.append(f"| {index + 1} | " + " | ".join(cells) + " |")
    totals = {side: _totals(counts) for side, counts in results.items()}
    lines += ["", "| total | " + " | ".join(sides) + " |", "| --- |" + " --- |" * len(sides)]
    for key, label in (
        ("prompt_tokens", "prompt tokens sent"),
        ("cached_tokens", "taken from the cache"),
        ("read_tokens", "read (not cached)"),
        ("cached_share", "share from the cache"),
        ("read_s", "seconds reading prompts"),
    ):
        shown = "{:.3f}" if key == "cached_share" else "{:,.1f}" if key == "read_s" else "{:,}"
        lines.append(
            f"| {label} | " + " | ".join(shown.format(totals[s][key]) for s in sides) + " |"
        )
    if "ours" in totals and "smolagents" in totals:
        ratio = totals["ours"]["read_s"] / max(totals["smolagents"]["read_s"], 1e-9)
        lines += ["", f"Seconds reading prompts, ours ÷ smolagents: {ratio:.3g}."]
    return "\n".join(lines) + "\n"


def _totals(counts: list[dict[str, float]]) -> dict[str, float]:
    sent = sum(c["prompt_tokens"] for c in counts)
    cached = sum(c["cached_tokens"] for c in counts)
    return {
        "prompt_tokens": int(sent),
        "cached_tokens": int(cached),
        "read_tokens": int(sum(c["read_tokens"] for c in counts)),
        "cached_share": cached / sent if sent else 0.0,
        "read_s": sum(c["read_ms"] for c in counts) / 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.prompt_cache", description=__doc__)
    parser.add_argument("--base", default=os.environ.get("OPENAI_API_BASE"), required=False)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--output-bytes", type=int, default=1500)
    parser.add_argument("--systems", default="ours,smolagents")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    if not args.base:
        parser.error("no server: pass --base http://127.0.0.1:18090/v1 (or set OPENAI_API_BASE)")
    makers = {"ours": ours_prompts, "smolagents": smolagents_prompts}
    results = {}
    for side in args.systems.split(","):
        print(f"{side}: recording the session's prompts", flush=True)
        calls = makers[side](args.steps, args.output_bytes)
        results[side] = replay(args.base, calls, side)
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = report(results, args)
    (args.out / "prompt-cache.md").write_text(markdown)
    (args.out / "prompt-cache.json").write_text(json.dumps(results, indent=1))
    print(markdown)


if __name__ == "__main__":
    main()
