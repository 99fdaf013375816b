"""The variables summary: informative, bounded, and safe with hostile objects."""

import collections
import datetime
import enum
import inspect
import math
from pathlib import Path

import numpy as np
import pandas as pd

from jupyter_agents.kernel.namespace_summary import MAX_LINE_CHARS, describe, summarize_namespace


def test_data_frames_show_shape_columns_and_dtypes_but_no_data():
    frame = pd.DataFrame({"region": ["north", "south"], "revenue": [1234.5, 99.0]})
    text = describe(frame)
    assert text.startswith("DataFrame (pandas), shape (2, 2); columns: region (")
    assert "revenue (float64)" in text
    assert "1234.5" not in text and "north" not in text


def test_wide_frames_are_cut():
    frame = pd.DataFrame({f"c{i}": [i] for i in range(60)})
    text = describe(frame)
    assert "c24 (int64)" in text and "c25" not in text and "35 more" in text


def test_arrays_series_scalars_containers():
    assert describe(np.zeros((3, 4))) == "ndarray (numpy), shape (3, 4), dtype float64"
    series = describe(pd.Series([1.0, 2.0], name="price"))
    assert series == "Series (pandas), shape (2,), dtype float64, name 'price'"
    assert describe(42) == "int = 42"
    assert describe("x" * 500).startswith("str = 'xxxx") and len(describe("x" * 500)) < 90
    assert describe(list(range(1000))) == "list, len 1000 = [0, 1, 2, 3, 4, 5, ...]"
    assert describe(math.pi) == f"float = {math.pi!r}"


def test_functions_classes_and_objects():
    def load(path: str, sep: str = ",") -> None:
        """Load a CSV file.

        More details."""

    class Thing:
        pass

    assert describe(load) == f"function{inspect.signature(load)}: Load a CSV file."
    assert describe(Thing) == "class"
    # A default repr (an address) says nothing, so it is left out.
    assert describe(Thing()) == "Thing (tests)"
    Thing.__module__ = "__main__"  # as for a class defined in a notebook
    assert describe(Thing()) == "Thing"


def test_the_summary_never_asks_user_objects_to_compute():
    class Query:  # like an ORM query set: repr() and len() would hit the database
        def __repr__(self):
            raise AssertionError("repr must not be called")

        def __len__(self):
            raise AssertionError("len must not be called")

    class Lazy:
        def __getattr__(self, name):  # would pretend to have any attribute
            raise AssertionError("the summary must not touch instance attributes")

    class Big(dict):  # a dict subclass: its repr would be the whole thing
        def __repr__(self):
            raise AssertionError("repr of a container subclass must not be called")

    assert describe(Query()) == "Query (tests)"
    assert describe(Lazy()) == "Lazy (tests)"
    assert describe(Big(a=1, b=2)) == "Big (tests), len 2"
    assert describe(collections.Counter("aab")) == "Counter (collections), len 2"


def test_cheap_reprs_are_shown():
    assert describe(datetime.date(2024, 1, 2)) == "date (datetime) = datetime.date(2024, 1, 2)"
    assert (
        describe(Path("data/sales.csv"))
        == f"{type(Path()).__name__} (pathlib) = {Path('data/sales.csv')!r}"
    )

    class Colour(enum.Enum):
        RED = 1

    assert describe(Colour.RED) == "Colour (tests) = Colour.RED"


def test_namespace_summary_hides_internals_and_bounds_its_size():
    namespace = {
        "In": [],
        "_": 1,
        "_private": 2,
        "np": np,
        "pd": pd,
        "get_ipython": print,
        **{f"v{i}": i for i in range(100)},
        "long_text": "y" * 10_000,
    }
    text = summarize_namespace(namespace, hidden=["In", "get_ipython"], max_variables=40)
    lines = text.splitlines()
    assert lines[0] == "Imported modules: np (numpy), pd (pandas)"
    assert lines[1] == "- ... 61 older variables not listed"
    assert "- v99: int = 99" in lines and "- v60: int = 60" not in lines
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert "_private" not in text and "In:" not in text and "get_ipython" not in text


def test_empty_namespace():
    assert summarize_namespace({}) == "(no user variables yet)"
