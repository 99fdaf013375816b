"""The quality suite's data and grading: the grader's rules, the tasks file, the datasets
regenerating byte for byte, and every expected answer matching its reference solution."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from benchmarks.quality.datasets import DATA_DIR, DATASET_NAMES, write_datasets
from benchmarks.quality.grading import grade, parse_answers
from benchmarks.quality.tasks import (
    LEVELS,
    SUBSET_12,
    TASKS_FILE,
    Task,
    interleaved,
    load_tasks,
    select_tasks,
)

# ---- grading ----


@pytest.mark.parametrize(
    ("expected", "found", "correct"),
    [
        ("3.1", "3.14", True),  # rounded to the expected 1 decimal
        ("3.1", "3.16", False),
        ("3.10", "3.1", True),  # 3.1 at 2 decimals is 3.10
        ("3.10", "3.14", False),
        ("3.15", "3.145", True),  # half up, not half even (which gives 3.14)
        ("42", "42.0", True),
        ("42", "42.4", True),
        ("42", "43", False),
        ("-0.289", "-0.2893", True),
        ("-0.289", "0.289", False),
        ("1500", "1,500", True),  # thousands separators
        ("1454.99", "1,454.99", True),
        ("12.5", "12.5%", False),  # the format asks for a bare number
        ("12.5", "about 12.5", False),
        ("12.5", "1e400", False),  # too large to round at the precision: not an error
        ("North", "north", True),
        ("North", " 'NORTH' ", True),
        ("North", "North-East", False),
        ("2023-12", "2023-12", True),  # not a number, compared as text
        ("2023-12", "2023-11", False),
    ],
)
def test_one_value(expected: str, found: str, correct: bool) -> None:
    result = grade({"x": expected}, f"@x[{found}]")
    assert result.correct is correct
    assert result.per_name == {"x": correct}
    assert (result.problem is None) is correct


def test_every_name_must_be_right_and_the_problem_names_the_wrong_one() -> None:
    expected = {"region": "North", "revenue": "52875.06"}
    right = grade(expected, "@region[North] @revenue[52875.06]")
    assert right.correct and right.problem is None
    wrong = grade(expected, "The answer: @region[North], @revenue[52875.1]")
    assert not wrong.correct
    assert wrong.per_name == {"region": True, "revenue": False}
    assert wrong.found == {"region": "North", "revenue": "52875.1"}
    assert wrong.problem == "revenue: expected 52875.06, got 52875.1"


def test_a_missing_name_is_wrong() -> None:
    result = grade({"slope": "2.420", "intercept": "37.931"}, "@slope[2.42]")
    assert not result.correct
    assert result.per_name == {"slope": True, "intercept": False}
    assert result.problem == "intercept: expected 37.931, missing from the answer"


@pytest.mark.parametrize("answer", [[52875.06, "North"], 52875.06, None, "North, 52875.06"])
def test_an_answer_without_items_is_not_scored(answer: object) -> None:
    result = grade({"revenue": "52875.06"}, answer)
    assert not result.correct
    assert result.problem == "no @name[value] in the answer"
    assert result.found == {}


def test_values_keep_their_text_but_lose_quotes_and_whitespace() -> None:
    text = """final_answer("@a[ 'x y' ] @b["7"]\n@c[`8.5`] @d[]")"""
    assert parse_answers(text) == {"a": "x y", "b": "7", "c": "8.5", "d": ""}
    assert parse_answers(repr('@b["7"] @c[ 8 ]')) == {"b": "7", "c": "8"}
    assert parse_answers('@name["Laptop 14-inch"] @n[ 3 ]') == {"name": "Laptop 14-inch", "n": "3"}
    assert parse_answers("@x[1] then @x[2]") == {"x": "2"}  # the last one is the answer
    assert grade({"name": "laptop 14-inch"}, '@name[ "Laptop 14-inch" ]').correct


def test_a_long_wrong_value_is_shortened_to_one_line() -> None:
    result = grade({"x": "1"}, "@x[" + "word\n" * 40 + "]")
    assert result.problem is not None and "\n" not in result.problem
    assert len(result.problem) < 100


# ---- tasks ----


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return load_tasks()


def test_the_tasks_cover_every_level_and_dataset(tasks: list[Task]) -> None:
    assert len(tasks) >= 30
    levels = Counter(task.level for task in tasks)
    assert set(levels) == set(LEVELS) and min(levels.values()) >= 10
    assert len(DATASET_NAMES) >= 6
    assert {name for task in tasks for name in task.files} == set(DATASET_NAMES)
    assert any(len(task.files) > 1 for task in tasks)  # a join


def test_the_first_12_are_the_headline_subset_with_4_per_level(tasks: list[Task]) -> None:
    first = select_tasks(tasks, "12", None)
    assert tuple(task.id for task in first) == SUBSET_12
    assert Counter(task.level for task in first) == {"easy": 4, "medium": 4, "hard": 4}
    assert [task.level for task in first[:3]] == ["easy", "medium", "hard"]


def test_selecting_tasks(tasks: list[Task]) -> None:
    assert select_tasks(tasks, None, None) == interleaved(tasks)
    assert len(select_tasks(tasks, None, None)) == len(tasks)
    hard = select_tasks(tasks, "3", "hard")
    assert [task.level for task in hard] == ["hard"] * 3
    assert hard[0].id == SUBSET_12[2]
    chosen = select_tasks(tasks, " weather_oslo_rolling, students_mean_math ", None)
    assert [task.id for task in chosen] == ["weather_oslo_rolling", "students_mean_math"]
    with pytest.raises(ValueError, match="unknown task id no_such_task; see the ids with --list"):
        select_tasks(tasks, "students_mean_math,no_such_task", None)
    with pytest.raises(ValueError, match="N >= 1"):
        select_tasks(tasks, "0", None)


def test_the_prompt_is_the_agreed_text() -> None:
    task = Task(
        id="t",
        level="easy",
        files=("a.csv", "b.csv"),
        question="What is the mean of x?",
        constraints="Round to 2 decimals.",
        answer_format="@mean_x[value] where value is the mean; @n[count] the rows",
        expected={"mean_x": "1.00", "n": "3"},
    )
    assert task.prompt() == (
        "The file(s) a.csv, b.csv are in the current directory.\n"
        "Question: What is the mean of x?\n"
        "Constraints: Round to 2 decimals.\n"
        "Answer format: @mean_x[value] where value is the mean; @n[count] the rows\n"
        "When you have the answer, call final_answer with a single string in that format, "
        'e.g. final_answer("@mean_x[<value>] @n[<value>]").'
    )


def test_every_prompt_asks_for_exactly_the_expected_names(tasks: list[Task]) -> None:
    for task in tasks:
        example = task.prompt().splitlines()[-1]
        assert sorted(parse_answers(example)) == sorted(task.expected), task.id
        assert "\n" not in task.question + task.constraints + task.answer_format, task.id


def _broken(tmp_path: Path, change: dict) -> Path:
    entries = yaml.safe_load(TASKS_FILE.read_text(encoding="utf-8"))[:2]
    entries[1].update(change)
    path = tmp_path / "tasks.yaml"
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "students_mean_math"}, "students_mean_math: the id is used twice"),
        ({"level": "expert"}, "level 'expert' is not one of easy, medium, hard"),
        ({"files": ["nowhere.csv"]}, "no such file in .*: nowhere.csv"),
        ({"expected": {"max_temp": "1.0"}}, r"only in answer_format: station; only in expected: -"),
        ({"expected": {"max_temp": 1.0, "station": "x"}}, "map each answer name to a quoted"),
        ({"question": ""}, "must be non-empty text"),
    ],
)
def test_load_tasks_names_the_task_and_its_problem(
    tmp_path: Path, change: dict, message: str
) -> None:
    path = _broken(tmp_path, change)
    with pytest.raises(ValueError, match=f"^tasks.yaml: task .*{message}"):
        load_tasks(path)


def test_an_unbroken_copy_loads(tmp_path: Path) -> None:
    loaded = load_tasks(_broken(tmp_path, {}))
    assert [task.id for task in loaded] == ["students_mean_math", "weather_max_temp"]


# ---- datasets and expected answers ----


def test_the_datasets_regenerate_byte_for_byte(tmp_path: Path) -> None:
    written = write_datasets(tmp_path)
    assert [path.name for path in written] == list(DATASET_NAMES)
    assert sorted(path.name for path in DATA_DIR.glob("*.csv")) == sorted(DATASET_NAMES)
    for path in written:
        assert path.read_bytes() == (DATA_DIR / path.name).read_bytes(), path.name
        assert b"\r" not in path.read_bytes()
    assert sum(path.stat().st_size for path in written) < 1_000_000


def test_every_expected_answer_is_what_its_reference_computes(tasks: list[Task]) -> None:
    pytest.importorskip("pandas")
    from benchmarks.quality.reference import SOLUTIONS

    assert set(SOLUTIONS) == {task.id for task in tasks}
    for task in tasks:
        answer = SOLUTIONS[task.id](DATA_DIR)
        assert answer == task.expected, task.id
        # and the grader accepts the reference's own answer in the agents' format
        text = " ".join(f"@{name}[{value}]" for name, value in answer.items())
        assert grade(task.expected, text).correct, task.id


def test_the_placeholder_brackets_a_model_copies_are_not_part_of_the_value() -> None:
    """The prompt shows ``@name[<value>]``; ``@mean[<5.0>]`` means 5.0, ``@x[<a>b]`` is not."""
    assert grade({"mean": "5.0"}, "@mean[<5.0>]").correct
    assert grade({"city": "oslo"}, "@city[<'Oslo'>]").correct
    assert not grade({"city": "ab"}, "@city[<a>b]").correct
