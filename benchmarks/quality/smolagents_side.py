"""smolagents' side of a quality run: ``CodeAgent`` with ``LiteLLMModel`` on the same model.

Each run is a fresh process (``smolagents_job.py``) whose working directory holds the task's
CSV files, like our side's fresh kernel. Same task text, model string, step limit, output
token limit and temperature; imports are not restricted (``"*"``), as in our kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .outcome import RunOutcome, RunSettings, run_process, timed_out

JOB = Path(__file__).with_name("smolagents_job.py")


def smolagents_available() -> bool:
    """Whether the interpreter running the suite can import smolagents."""
    found = subprocess.run([sys.executable, "-c", "import smolagents"], capture_output=True)
    return found.returncode == 0


def run_smolagents(prompt: str, workdir: Path, settings: RunSettings, keep: Path) -> RunOutcome:
    """Run the task in ``workdir``; the job's JSON (with its step log) is kept at ``keep``."""
    prompt_file = workdir / "task.txt"
    prompt_file.write_text(prompt, encoding="utf-8")
    command = [
        sys.executable, str(JOB), "--prompt-file", str(prompt_file), "--model", settings.model,
        "--max-steps", str(settings.max_steps), "--max-tokens", str(settings.max_tokens),
        "--timeout", f"{settings.model_timeout:g}",
    ]  # fmt: skip
    if settings.temperature is not None:
        command += ["--temperature", f"{settings.temperature:g}"]
    finished = run_process(command, workdir, settings.run_timeout)
    if finished is None:
        return timed_out(settings)
    lines = finished.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        return RunOutcome(ended="harness-error", error=last[:300])
    keep.write_text(json.dumps(data, indent=1, default=repr) + "\n", encoding="utf-8")
    return RunOutcome(
        ended=data["ended"],
        answer=data.get("answer"),
        steps=int(data.get("steps", 0)),
        model_calls=int(data.get("model_calls", 0)),
        prompt_tokens=int(data.get("prompt_tokens", 0)),
        completion_tokens=int(data.get("completion_tokens", 0)),
        error=data.get("error"),
        extra={"step_errors": data.get("step_errors", [])},
    )
