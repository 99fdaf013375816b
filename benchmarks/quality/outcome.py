"""What one run of one task by one system produced, and the file that keeps every run.

Runs are appended to ``quality-runs.jsonl`` as they finish, one JSON object a line, so an
interrupted suite loses at most the run that was going, and a rerun with the same output
folder skips the (task, system, repeat) triples already there. The settings that make runs
comparable (model, temperature, step limit, ...) are kept beside them in ``quality-settings
.json``; a rerun with other settings into the same folder is refused rather than mixed in.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RUNS_FILE = "quality-runs.jsonl"
SETTINGS_FILE = "quality-settings.json"


@dataclass(frozen=True)
class RunSettings:
    """Everything both systems are given alike."""

    model: str
    max_steps: int
    temperature: float | None = None
    #: Output tokens per model call (0: the provider's default).
    max_tokens: int = 1024
    #: Seconds one model call may take (a CPU model reads a long prompt slowly).
    model_timeout: float = 600
    #: Seconds a whole run may take before the suite gives up on it.
    run_timeout: float = 1800

    def model_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        return kwargs

    def comparable(self) -> dict[str, Any]:
        """The settings a rerun must share to add runs to the same results."""
        return {"model": self.model, "max_steps": self.max_steps,
                "temperature": self.temperature, "max_tokens": self.max_tokens}  # fmt: skip


@dataclass
class RunOutcome:
    """How a run ended and what it cost. ``ended`` is the system's own word for the ending:
    ours ``completed``, ``max-steps``, ``ReplyFormatError``, ...; smolagents ``success``,
    ``max_steps_error``, ``error:<class>``; either ``timeout`` or ``harness-error``."""

    ended: str
    answer: Any = None
    steps: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunRecord:
    """One line of the runs file: which run, its outcome, and its grade."""

    task: str
    level: str
    system: str
    repeat: int
    correct: bool
    problem: str | None
    outcome: RunOutcome

    def key(self) -> tuple[str, str, int]:
        return (self.task, self.system, self.repeat)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**{**data, "outcome": RunOutcome(**data["outcome"])})


def read_records(path: Path) -> list[RunRecord]:
    """Every run in a runs file (one JSON object per line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [RunRecord.from_json(json.loads(line)) for line in lines if line.strip()]


class RunStore:
    """The runs file of one output folder, for one set of settings."""

    def __init__(self, folder: Path, settings: RunSettings) -> None:
        self.folder = folder
        self.path = folder / RUNS_FILE
        folder.mkdir(parents=True, exist_ok=True)
        settings_path = folder / SETTINGS_FILE
        wanted = settings.comparable()
        if settings_path.exists():
            kept = json.loads(settings_path.read_text(encoding="utf-8"))
            if kept != wanted and self.path.exists() and self.path.stat().st_size:
                raise ValueError(
                    f"{folder} holds runs made with other settings ({kept}); use another --out "
                    "or --fresh to start over there."
                )
        settings_path.write_text(json.dumps(wanted, indent=1) + "\n", encoding="utf-8")

    def load(self) -> list[RunRecord]:
        return read_records(self.path) if self.path.exists() else []

    def append(self, record: RunRecord) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(asdict(record), default=repr) + "\n")

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def run_process(
    command: list[str], workdir: Path, timeout: float
) -> subprocess.CompletedProcess[str] | None:
    """Run one system's process in ``workdir``; None if it ran past ``timeout``.

    It runs in a session of its own, so that on a timeout everything it started (our side's
    kernel, a cell's subprocesses) is killed with it and nothing is left running.
    """
    with subprocess.Popen(
        command,
        cwd=workdir,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def timed_out(settings: RunSettings) -> RunOutcome:
    return RunOutcome(ended="timeout", error=f"no result in {settings.run_timeout:g} s")
