"""Undo's parts without a kernel: which objects a cell may change, the copies, the restore and
the lists it shows. Cells run with ``exec`` in a plain namespace; kernels are in
test_undo_in_kernel.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jupyter_agents.core.risk_flags import Category, RiskFlag
from jupyter_agents.core.steps import Step, StepStatus
from jupyter_agents.core.undo_report import UNSEEN, side_effects
from jupyter_agents.kernel.undo_log import UndoLog
from jupyter_agents.kernel.undo_restore import plan_undo, undo_namespace
from jupyter_agents.kernel.undo_targets import mutation_targets


def run_cells(namespace: dict, cells: list[str], budget_mb: int = 512) -> UndoLog:
    log = UndoLog.with_budget(budget_mb)
    for cell in cells:
        before = log.before_cell(cell, namespace)
        exec(cell, namespace)
        log.after_cell(before, namespace)
    return log


def test_the_cells_targets_are_the_existing_objects_it_may_change_in_place():
    namespace = {"df": 1, "items": 1, "d": 1, "arr": 1, "obj": 1, "other": 1, "frame": 1}
    code = (
        "df['c'] = 1\nitems.append(2)\nd.update(a=1)\narr[0] += 9\nobj.x = 3\n"
        "frame.drop(columns=['a'], inplace=True)\nnew = other + 1\ndel items[0]"
    )
    assert mutation_targets(code, namespace) == ["df", "items", "d", "arr", "obj", "frame"]
    # Reading, rebinding and new names are not changes in place.
    assert mutation_targets("total = df.sum()\nitems = []\nprint(d['a'])", namespace) == []
    assert mutation_targets("not python at all (", namespace) == []


def test_an_object_passed_to_a_function_of_the_cells_own_may_be_changed():
    namespace = {"data": [1], "keep": [2]}
    code = "def grow(x):\n    x.append(99)\ngrow(data)\nprint(len(keep))"
    assert mutation_targets(code, namespace) == ["data"]


def test_names_rebinds_and_changes_in_place_are_undone_with_identity_and_aliases():
    namespace: dict = {}
    exec(
        "import numpy as np, pandas as pd\n"
        "df = pd.DataFrame({'a': [1, 2]}); df2 = df\nlst = [1]; alias = lst\nd = {'k': 1}\n"
        "arr = np.zeros(3)\nb = object(); original_b = b\nbig = [0]\n"
        "flat = pd.DataFrame({'a': [1]})",
        namespace,
    )
    log = run_cells(
        namespace,
        [
            "df['c'] = df['a'] * 2",
            "lst.append(2)",
            "d.update(z=3)",
            "arr[0] = 9",
            "b = 5\ncreated = 1",
            "def f(x):\n    x.append(99)\nf(big)",
            "flat.drop(columns=['a'], inplace=True)",
        ],
    )
    before_undo = dict(namespace)
    plan = plan_undo(log, namespace)
    assert namespace == before_undo  # a dry run changes nothing
    done = undo_namespace(log, namespace)
    assert done.lines() == plan.lines()
    assert list(namespace["df2"].columns) == ["a"] and namespace["df"] is namespace["df2"]
    assert namespace["alias"] == [1] and namespace["lst"] is namespace["alias"]
    assert namespace["d"] == {"k": 1}
    assert namespace["arr"].tolist() == [0.0, 0.0, 0.0]
    assert namespace["b"] is namespace["original_b"]
    assert "created" not in namespace and "f" not in namespace
    assert namespace["big"] == [0]
    assert list(namespace["flat"].columns) == ["a"]
    assert set(done.removed) == {"created", "f"} and done.rebound == ["b"]


def test_an_object_over_the_budget_is_listed_and_left_as_the_run_left_it():
    namespace: dict = {"huge": np.zeros(300_000), "small": [1]}  # 2.4 MB, over 1 MB
    log = run_cells(namespace, ["huge[0] = 7\nsmall.append(2)"], budget_mb=1)
    done = undo_namespace(log, namespace)
    assert namespace["huge"][0] == 7 and namespace["small"] == [1]
    assert done.not_restorable_lines() == [
        "huge: changed in place; cannot be restored (over the undo memory budget (1 MB, "
        "undo_memory_mb))"
    ]


def test_a_type_that_cannot_take_its_contents_back_gets_its_copy_bound():
    namespace: dict = {}
    exec("class Box:\n    pass\nbox = Box(); box.x = 1", namespace)
    log = run_cells(namespace, ["box.x = 2"])
    changed = namespace["box"]
    done = undo_namespace(log, namespace)
    assert namespace["box"].x == 1 and namespace["box"] is not changed
    assert done.rebound_to_copy == ["box"]


def test_a_name_the_user_changed_after_the_run_is_listed_and_reset():
    namespace: dict = {"x": 1}
    log = run_cells(namespace, ["x = 2"])
    namespace["x"] = 3  # the user's own cell, after the run
    done = undo_namespace(log, namespace)
    assert namespace["x"] == 1 and done.changed_since == ["x"]


def test_what_the_cells_did_outside_the_kernel_is_listed_as_not_undone():
    wrote = RiskFlag(Category.OVERWRITE_FILES, "open('out.csv', 'w') writes a file", 1)
    ran = Step(1, "", "", "open('out.csv', 'w')", StepStatus.AUTO, code_run="...", risks=[wrote])
    rejected = Step(2, "", "", "import os", StepStatus.REJECTED, risks=[wrote])
    assert side_effects([ran, rejected]) == [
        "files written: step 1, line 1: open('out.csv', 'w') writes a file"
    ]
    assert "not seen and not undone" in UNSEEN


def test_pandas_series_and_frames_are_restored_for_every_reference():
    series = pd.Series([1, 2, 3])
    namespace = {"s": series}
    log = run_cells(namespace, ["s.drop(0, inplace=True)"])
    undo_namespace(log, namespace)
    assert series.tolist() == [1, 2, 3]


def test_with_undo_memory_mb_0_nothing_is_copied_and_the_list_says_so():
    namespace: dict = {"items": [1]}
    log = run_cells(namespace, ["items.append(2)\nmade = 1"], budget_mb=0)
    done = undo_namespace(log, namespace)
    assert namespace["items"] == [1, 2] and "made" not in namespace  # names still go back
    assert done.not_restorable_lines() == [
        "items: changed in place; cannot be restored (undo_memory_mb is 0)"
    ]


def test_objects_that_cannot_be_copied_are_listed_with_the_reason():
    namespace: dict = {}
    exec(
        "import io\n"
        "class Locked(list):\n"
        "    def __deepcopy__(self, memo):\n"
        "        raise TypeError('no copies')\n"
        "gen = (n for n in range(3))\nhandle = io.StringIO()\nlocked = Locked([1])",
        namespace,
    )
    cell = "def use(g, h):\n    next(g)\n    h.write('x')\nuse(gen, handle)\nlocked.append(2)"
    log = run_cells(namespace, [cell])
    done = undo_namespace(log, namespace)
    assert namespace["locked"] == [1, 2] and handle_text(namespace) == "x"  # left as changed
    assert done.not_restorable_lines() == [
        "gen: changed in place; cannot be restored (a generator cannot be copied)",
        "handle: changed in place; cannot be restored (a StringIO cannot be copied)",
        "locked: changed in place; cannot be restored (copying it raised TypeError)",
    ]


def handle_text(namespace: dict) -> str:
    return namespace["handle"].getvalue()
