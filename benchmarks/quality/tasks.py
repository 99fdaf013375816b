"""The quality suite's tasks, read from tasks.yaml, and the one text both agents are given.

Tasks run in an order that interleaves the levels (the first easy, medium and hard task, then
the second of each, ...), so any prefix of N tasks mixes all levels and ``--tasks 12`` is the
fixed 12-task subset the headline numbers are quoted for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .datasets import DATA_DIR

TASKS_FILE = Path(__file__).with_name("tasks.yaml")
LEVELS = ("easy", "medium", "hard")
FIELDS = ("id", "level", "files", "question", "constraints", "answer_format", "expected")
ANSWER_NAME = re.compile(r"@(\w+)\[")
#: The headline subset: the first 4 tasks of each level in tasks.yaml, i.e. ``--tasks 12``.
SUBSET_12 = (
    "students_mean_math", "sales_region_revenue", "sales_category_profit",
    "weather_max_temp", "employees_dept_salary", "weather_oslo_rolling",
    "sessions_unique_users", "sessions_device_conversion", "students_hours_slope",
    "products_most_expensive", "housing_price_per_sqft", "sessions_chi_square",
)  # fmt: skip


@dataclass(frozen=True)
class Task:
    """One question over some CSV files, with the answer a correct agent gives."""

    id: str
    level: str
    files: tuple[str, ...]
    question: str
    constraints: str
    answer_format: str
    expected: dict[str, str]

    def names(self) -> list[str]:
        """The ``@name`` items of the answer format, in the order it gives them."""
        return list(dict.fromkeys(ANSWER_NAME.findall(self.answer_format)))

    def prompt(self) -> str:
        """The task as both agents get it, word for word."""
        example = " ".join(f"@{name}[<value>]" for name in self.names())
        return (
            f"The file(s) {', '.join(self.files)} are in the current directory.\n"
            f"Question: {self.question}\n"
            f"Constraints: {self.constraints}\n"
            f"Answer format: {self.answer_format}\n"
            "When you have the answer, call final_answer with a single string in that format, "
            f'e.g. final_answer("{example}").'
        )


def load_tasks(path: Path = TASKS_FILE, data_dir: Path = DATA_DIR) -> list[Task]:
    """Every task of ``path``, in file order; ValueError names the first task that is wrong."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path.name}: expected a list of tasks")
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        label = entry.get("id", f"number {number}") if isinstance(entry, dict) else number
        problem = _entry_problem(entry, seen, data_dir)
        if problem:
            raise ValueError(f"{path.name}: task {label}: {problem}")
        seen.add(entry["id"])
        tasks.append(_task(entry))
    return tasks


def _entry_problem(entry: object, seen: set[str], data_dir: Path) -> str | None:
    """What is wrong with one task of the YAML, or None."""
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        return f"needs exactly the fields {', '.join(FIELDS)} (has {keys})"
    texts = [entry[key] for key in FIELDS if key not in ("files", "expected")]
    if not all(isinstance(text, str) and text.strip() for text in texts):
        return "id, level, question, constraints and answer_format must be non-empty text"
    if entry["id"] in seen:
        return "the id is used twice"
    if entry["level"] not in LEVELS:
        return f"level {entry['level']!r} is not one of {', '.join(LEVELS)}"
    files, expected = entry["files"], entry["expected"]
    if not isinstance(files, list) or not files:
        return "files must be a non-empty list of CSV names"
    missing = [name for name in files if not (data_dir / str(name)).is_file()]
    if missing:
        return f"no such file in {data_dir}: {', '.join(map(str, missing))}"
    if not isinstance(expected, dict) or not all(
        isinstance(value, str) for value in expected.values()
    ):
        return "expected must map each answer name to a quoted string"
    names = set(ANSWER_NAME.findall(entry["answer_format"]))
    if names != set(expected):
        only_format = ", ".join(sorted(names - set(expected))) or "-"
        only_expected = ", ".join(sorted(set(expected) - names)) or "-"
        return (
            f"answer_format names and expected keys differ (only in answer_format: "
            f"{only_format}; only in expected: {only_expected})"
        )
    return None


def _task(entry: dict) -> Task:
    return Task(
        id=entry["id"],
        level=entry["level"],
        files=tuple(entry["files"]),
        question=entry["question"].strip(),
        constraints=entry["constraints"].strip(),
        answer_format=entry["answer_format"].strip(),
        expected=dict(entry["expected"]),
    )


def interleaved(tasks: list[Task]) -> list[Task]:
    """Tasks ordered easy, medium, hard, easy, ... keeping file order within a level."""
    rank: dict[str, int] = {}
    keys = {}
    for task in tasks:
        rank[task.level] = rank.get(task.level, -1) + 1
        keys[task.id] = (rank[task.level], LEVELS.index(task.level))
    return sorted(tasks, key=lambda task: keys[task.id])


def select_tasks(tasks: list[Task], spec: str | None, level: str | None) -> list[Task]:
    """The tasks to run: all (``None``), the first N (``"12"``) or ``"id,id,..."``; then only
    those of ``level`` when given. Order: interleaved for all and N, as given for ids."""
    ordered = [task for task in interleaved(tasks) if level is None or task.level == level]
    if spec is None or not spec.strip():
        return ordered
    spec = spec.strip()
    if spec.isdigit():
        if int(spec) < 1:
            raise ValueError("--tasks N needs N >= 1")
        return ordered[: int(spec)]
    by_id = {task.id: task for task in tasks}
    wanted = list(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    unknown = [task_id for task_id in wanted if task_id not in by_id]
    if unknown:
        raise ValueError(
            f"unknown task id {', '.join(unknown)}; see the ids with --list or in {TASKS_FILE}"
        )
    return [by_id[task_id] for task_id in wanted if level is None or by_id[task_id].level == level]
