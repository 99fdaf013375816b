"""One smolagents run of one task, in a process of its own: ``python smolagents_job.py ARGS``.

The quality suite runs each task in a fresh directory and a fresh process, so that a run's
variables, files and any hang stay with that run. This file is a plain script (no imports from
this repository) so it can run with the task's directory as its working directory. It prints
one JSON object on its last line: the outcome of ``CodeAgent.run(..., return_full_result=True)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt-file", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--max-tokens", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=None)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    # As our side does: never fetch litellm's price map from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with open(args.prompt_file, encoding="utf-8") as file:
        prompt = file.read()
    started = time.perf_counter()
    try:
        outcome = run(prompt, args)
    except Exception as error:  # the run itself failed: say how, in one line
        outcome = {
            "ended": f"error:{type(error).__name__}",
            "error": f"{type(error).__name__}: {error}".splitlines()[0][:300],
            "trace": traceback.format_exc()[-2000:],
        }
    outcome["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(outcome, default=repr))


def run(prompt: str, args: argparse.Namespace) -> dict:
    from smolagents import CodeAgent, LiteLLMModel
    from smolagents.memory import ActionStep
    from smolagents.monitoring import LogLevel

    model_kwargs: dict = {"timeout": args.timeout}
    if args.max_tokens:
        model_kwargs["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        model_kwargs["temperature"] = args.temperature
    model = LiteLLMModel(model_id=args.model, **model_kwargs)
    agent = CodeAgent(
        tools=[],
        model=model,
        max_steps=args.max_steps,
        # Our side runs any import in the kernel; give smolagents the same freedom.
        additional_authorized_imports=["*"],
        verbosity_level=LogLevel.OFF,
    )
    result = agent.run(prompt, return_full_result=True)
    actions = [step for step in agent.memory.steps if isinstance(step, ActionStep)]
    errors = [type(step.error).__name__ for step in actions if step.error is not None]
    usage = result.token_usage
    return {
        "ended": "success" if result.state == "success" else str(result.state),
        "answer": result.output if _is_json(result.output) else repr(result.output),
        "steps": len(actions),
        "model_calls": len(actions) + (result.state != "success"),
        "prompt_tokens": getattr(usage, "input_tokens", 0) or 0,
        "completion_tokens": getattr(usage, "output_tokens", 0) or 0,
        "step_errors": errors,
        "log": [_logged(step) for step in actions],
    }


def _logged(step) -> dict:
    """A step as the kept log shows it: what the model wrote, what it saw (cut)."""
    return {
        "model_output": str(step.model_output or "")[:1500],
        "observations": str(step.observations or "")[:1500],
        "error": str(step.error)[:500] if step.error is not None else None,
    }


def _is_json(value: object) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
