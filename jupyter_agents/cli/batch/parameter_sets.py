"""Reading ``batch --params``: the parameter sets, one job per set and notebook.

Three shapes, by file type:

- YAML (``.yaml``/``.yml``), a list of mappings: one set per mapping;
- YAML, a mapping of lists: the grid, every combination of the lists' values (a scalar
  counts as a list of one);
- CSV (``.csv``): one set per row, the header naming the parameters; a cell that reads as a
  number becomes one, an empty cell is ``None``.

Anything else is a :class:`ParameterError`, one line naming the file and the fix.
"""

from __future__ import annotations

import csv
import io
import itertools
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ...text.terminal_text import one_line

ParameterSet = dict[str, Any]

_SHAPES = "a YAML list of mappings, a YAML mapping of lists (a grid) or a CSV with a header row"


class ParameterError(ValueError):
    """A parameter file that cannot be read as parameter sets."""


def read_parameter_sets(path: str | Path) -> list[ParameterSet]:
    """The parameter sets in ``path``, in file order (grid: the product, first key slowest)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a CSV saved by Excel starts with a BOM
    except OSError as error:
        raise ParameterError(f"cannot read --params {path}: {one_line(error)}") from None
    if path.suffix.lower() == ".csv":
        sets = _csv_sets(text, path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        sets = _yaml_sets(text, path)
    else:
        raise ParameterError(f"--params {path}: give a .yaml, .yml or .csv file ({_SHAPES}).")
    if not sets:
        raise ParameterError(f"--params {path} holds no parameter sets; give at least one.")
    for number, parameters in enumerate(sets, 1):
        bad = [name for name in parameters if not _python_name(name)]
        if bad:
            raise ParameterError(
                f"--params {path}: set {number} has {bad[0]!r}, which is not a Python name; "
                "parameter names must be valid variable names."
            )
    return sets


def _python_name(name: Any) -> bool:
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _yaml_sets(text: str, path: Path) -> list[ParameterSet]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ParameterError(f"--params {path} is not valid YAML{at}; fix the file.") from None
    if isinstance(data, list) and all(isinstance(item, Mapping) for item in data):
        return [dict(item) for item in data]
    if isinstance(data, Mapping) and data:
        names = list(data)
        columns = [value if isinstance(value, list) else [value] for value in data.values()]
        if any(not column for column in columns):
            empty = names[next(i for i, column in enumerate(columns) if not column)]
            raise ParameterError(f"--params {path}: {empty!r} has an empty list of values.")
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*columns)]
    raise ParameterError(f"--params {path} must hold {_SHAPES}; found {type(data).__name__}.")


def _csv_sets(text: str, path: Path) -> list[ParameterSet]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ParameterError(f"--params {path}: the header row needs distinct, non-empty names.")
    sets = []
    for line, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ParameterError(
                f"--params {path}: row {line} has {len(row)} values for {len(header)} names."
            )
        sets.append({name: _csv_value(cell) for name, cell in zip(header, row, strict=True)})
    return sets


_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _csv_value(cell: str) -> Any:
    """A number where the text is written as one (``3``, ``-0.5``, ``1e-3``; not ``007``,
    ``nan`` or ``1_000``, which stay text), None where it is empty, else the text."""
    text = cell.strip()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return float(text) if any(mark in text for mark in ".eE") else int(text)
    return cell


def check_notebook_takes(nb: Any, path: Path, sets: list[ParameterSet]) -> None:
    """Each name in ``sets`` is one that ``nb``'s ``parameters`` cell sets (papermill's
    convention: the cell tagged ``parameters`` holds the defaults the injected cell overrides)."""
    from papermill.translators import papermill_translators

    names = sorted({name for parameters in sets for name in parameters})
    index = next(
        (i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])),
        None,
    )
    if index is None:
        raise ParameterError(
            f"{path} has no cell tagged 'parameters', so --params cannot set {', '.join(names)}; "
            "tag the cell that sets their defaults (papermill's convention)."
        )
    language = notebook_language(nb)
    try:
        translator = papermill_translators.find_translator(kernel_name(nb), language)
    except Exception:  # noqa: BLE001 - papermill knows no translator for this language
        raise ParameterError(
            f"{path}: papermill cannot write parameters for its language ({language}); "
            "batch parameters need a language papermill supports (Python, R, Julia, ...)."
        ) from None
    try:
        declared = {parameter.name for parameter in translator.inspect(nb.cells[index])}
    except NotImplementedError:  # a language papermill cannot read: trust the file
        return
    unknown = [name for name in names if name not in declared]
    if unknown:
        known = ", ".join(sorted(declared)) or "nothing"
        raise ParameterError(
            f"{path}: --params sets {', '.join(unknown)}, which its 'parameters' cell does not "
            f"define (it defines {known}); fix the name or add a default to that cell."
        )


def kernel_name(nb: Any) -> str:
    return str(nb.metadata.get("kernelspec", {}).get("name") or "python3")


def notebook_language(nb: Any) -> str:
    """The notebook's language, as papermill needs it; Python where the notebook is silent."""
    metadata = nb.metadata
    return str(
        metadata.get("kernelspec", {}).get("language")
        or metadata.get("language_info", {}).get("name")
        or "python"
    )
