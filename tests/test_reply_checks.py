"""The checks that keep a run going when a real model misbehaves, one by one, without a kernel:
typed-in answers, repeated cells, ``!pip``, and the hints a failed cell's observation gets."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from jupyter_agents.agent.answer_check import typed_in_answer, unsupported_facts
from jupyter_agents.agent.kernel_installs import pip_in_kernel
from jupyter_agents.agent.repetition import repeat_correction, repeated_step
from jupyter_agents.core.observation import Observation
from jupyter_agents.core.steps import Step, StepStatus
from jupyter_agents.kernel.error_feedback import error_hint, format_error, missing_module_hint


@pytest.mark.parametrize(
    ("code", "typed_in"),
    [
        ("final_answer(7)", True),
        ('final_answer("@mean[<value>]")', True),
        ("final_answer(['a', -1.5])", True),
        ('final_answer(f"@mean[{mean:.2f}]")', False),
        ("final_answer(df['x'].sum())", False),
        ("print(1)\nfinal_answer(total)", False),
        ("x = 7", False),  # no final_answer call at all: nothing to judge
        ("final_answer(7", False),  # does not parse: nothing to judge
    ],
)
def test_what_counts_as_an_answer_written_into_the_code(code: str, typed_in: bool) -> None:
    assert typed_in_answer(code) is typed_in


def test_a_typed_in_answer_must_show_only_numbers_a_cell_or_the_task_showed() -> None:
    shown = ["Task: the mean of x over 2023", "stdout:\n57.7183\nrows: 1,525"]
    assert unsupported_facts("@mean[57.72]", shown) == []  # printed at more precision
    assert unsupported_facts("57.7", shown) == []
    assert unsupported_facts("rows 1,525 in 2023", shown) == []
    assert unsupported_facts("@mean[57.73]", shown) == ["57.73"]
    assert unsupported_facts(7, shown) == ["7"]
    # A blank left in is never an answer, numbers or not; words alone have nothing to check.
    assert unsupported_facts("@mean[<value>]", shown) == ["<value>"]
    assert unsupported_facts("@mean[{mean}]", shown) == ["{mean}"]
    assert unsupported_facts("The analysis is done.", shown) == []
    assert unsupported_facts("<b>done</b>", shown) == []  # markup, not a blank


def _step(number: int, code: str, *, ran: bool = True, error: str | None = None) -> Step:
    status = StepStatus.AUTO if ran else StepStatus.REJECTED
    return Step(number, "reply", "", code, status, code_run=code if ran else None, error=error)


def test_a_repeat_is_the_cell_just_before_or_code_that_already_ran_twice() -> None:
    failing = _step(1, "import scipy\nscipy.stats", error="ModuleNotFoundError")
    install = _step(2, "%pip install scipy")
    # Same cell right after: a repeat, whatever whitespace differs.
    assert repeated_step("import scipy  \n\nscipy.stats\n", [failing]) is failing
    # After something else ran, once more is allowed (the install may have fixed it) ...
    assert repeated_step(failing.proposed_code, [failing, install]) is None
    again = _step(3, failing.proposed_code, error="ModuleNotFoundError")
    # ... but not a third time.
    assert repeated_step(failing.proposed_code, [failing, install, again, install]) is again
    correction = repeat_correction(again)
    assert "same as cell 3, which failed with ModuleNotFoundError" in correction
    rejected = _step(4, "rm_all()", ran=False)
    assert "which the human rejected" in repeat_correction(repeated_step("rm_all()", [rejected]))


def test_shell_pip_becomes_the_kernels_pip() -> None:
    code = "!pip install scipy\nif True:\n    !python3 -m pip install -q x\n!pip3 list\n!ls"
    assert pip_in_kernel(code) == (
        "%pip install scipy\nif True:\n    %pip install -q x\n%pip list\n!ls"
    )
    assert pip_in_kernel("!{sys.executable} -m pip install x") == (
        "!{sys.executable} -m pip install x"
    )
    assert pip_in_kernel("print('!pip install x')") == "print('!pip install x')"


def test_a_key_error_shows_the_columns_of_the_frame_the_cell_used() -> None:
    sales = pd.DataFrame({"Region": ["n"], "unit_price": [1.0]})
    hint = error_hint(KeyError("region"), "sales['region'].sum()", {"sales": sales, "pd": pd})
    assert hint is not None
    assert "- sales: DataFrame (pandas), shape (1, 2); columns: Region (" in hint
    assert "unit_price" in hint and "- pd" not in hint


def test_a_missing_module_points_to_pip_in_this_kernel() -> None:
    hint = error_hint(ModuleNotFoundError("No module named 'sklearn'", name="sklearn"), "", {})
    assert hint == missing_module_hint("sklearn")
    assert "`%pip install scikit-learn`" in hint and "otherwise do without it" in hint


def test_a_missing_file_lists_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text("a\n")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        hint = error_hint(FileNotFoundError("data/sales.csv"), "", {})
    finally:
        os.chdir(here)
    assert hint == f"The working directory is {tmp_path}; it holds: sales.csv."


def test_secret_names_and_other_errors_get_no_hint() -> None:
    assert error_hint(KeyError("x"), "api_token['x']", {"api_token": {"a": 1}}) is None
    assert error_hint(ZeroDivisionError(), "x / 0", {"x": 1}) is None


def test_the_hint_follows_the_error_in_what_the_model_sees() -> None:
    seen = Observation(error="KeyError: 'region'", hint="- sales: DataFrame").render(500)
    assert seen == "Error:\nKeyError: 'region'\n\nHint:\n- sales: DataFrame"


def test_frames_inside_a_library_fold_into_one_line() -> None:
    try:
        exec(compile("import pandas as pd\npd.Series(['$1']).astype(float)", "cell.py", "exec"))
    except ValueError as error:
        text = format_error(error, 4000)
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert any('File "cell.py", line 2, in <module>' in line for line in lines)
    assert re.fullmatch(r"  \[\.\.\. \d+ frames inside pandas \.\.\.\]", lines[-2]), lines
    assert lines[-1] == "ValueError: could not convert string to float: '$1'"
    assert "site-packages" not in text
