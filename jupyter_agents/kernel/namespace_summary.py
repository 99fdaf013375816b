"""A bounded, cheap summary of the user's variables for the model.

The model should know that ``df`` exists, that it has 12,304 rows and a ``date`` column of
dtype object, without ever seeing the data. So: type, length or shape, columns and dtypes for
data frames, and a short repr only for small built-in values.

Describing must be cheap and must not act: this runs on every variable at every run start.
So ``repr()`` and ``len()`` are called only on exact built-in types and on a few types known
to have cheap reprs (dates, paths, ...). A user's object (an ORM query, a lazy frame) is
described by its type alone, never asked to compute. Nothing here imports pandas or numpy:
they are recognised by their attributes, so the summary costs nothing for users who don't
have them.
"""

from __future__ import annotations

import collections
import enum
import inspect
import reprlib
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..safety.redact import from_environment, looks_secret
from ..text.clipping import cut, squeezed

MAX_VARIABLES = 40
MAX_LINE_CHARS = 240
MAX_COLUMNS = 25

_SMALL_REPR = reprlib.Repr()
_SMALL_REPR.maxstring = 60
_SMALL_REPR.maxother = 60
_SMALL_REPR.maxlist = _SMALL_REPR.maxtuple = _SMALL_REPR.maxset = 6
_SMALL_REPR.maxdict = 5
_SMALL_REPR.maxlevel = 2

_SCALARS = (int, float, complex, bool, str, bytes, type(None))
_CONTAINERS = (list, tuple, dict, set, frozenset, collections.deque)
#: Modules whose objects have short, cheap reprs worth showing (a date, a path, a model spec).
_CHEAP_REPR_MODULES = {
    "datetime",
    "decimal",
    "fractions",
    "pathlib",
    "uuid",
    "ipaddress",
    "sklearn",
}


def summarize_namespace(
    namespace: Mapping[str, Any],
    hidden: Iterable[str] = (),
    max_variables: int = MAX_VARIABLES,
    redact: Callable[[str], str] = lambda text: text,
) -> str:
    """One line per user variable, most recently defined last; modules on one line.

    No value is shown of a variable named like a credential, bound from the environment, or
    in which ``redact`` finds a secret.
    """
    hidden = set(hidden)
    lines: list[str] = []
    modules: list[str] = []
    for name, value in namespace.items():
        if name.startswith("_") or name in hidden:
            continue
        if isinstance(value, types.ModuleType):
            alias = name if name == value.__name__ else f"{name} ({value.__name__})"
            modules.append(alias)
            continue
        lines.append(_variable_line(name, value, redact))
    skipped = max(len(lines) - max_variables, 0)
    lines = lines[skipped:]
    if skipped:
        lines.insert(0, f"- ... {skipped} older variables not listed")
    if modules:
        lines.insert(0, "Imported modules: " + ", ".join(modules))
    return "\n".join(lines) if lines else "(no user variables yet)"


def _variable_line(name: str, value: Any, redact: Callable[[str], str]) -> str:
    """One variable's line, without its value if the name looks secret, the value came
    from the environment, or the redactor finds a secret in it (no partial value is shown)."""
    if callable(value):
        return redact(_clip(f"- {name}: {describe(value)}"))
    if looks_secret(name):
        return f"- {name}: {_type_name(value)} (value hidden: the name looks secret)"
    if from_environment(value):
        return f"- {name}: {_type_name(value)} (value hidden: it comes from the environment)"
    line = f"- {name}: {describe(value)}"
    if redact(line) != line:
        return f"- {name}: {_type_name(value)} (value hidden: it holds a secret)"
    return _clip(line)


def describe(value: Any) -> str:
    """A short description of one value: what it is and how big, never all of it."""
    kind = type(value)
    try:
        if kind in _SCALARS:
            return f"{kind.__name__} = {_SMALL_REPR.repr(value)}"
        if kind in _CONTAINERS:
            return f"{kind.__name__}, len {len(value)} = {_SMALL_REPR.repr(value)}"
        if isinstance(value, _CONTAINERS):  # a subclass (Counter, OrderedDict): its repr is full
            return f"{_type_name(value)}, len {len(value)}"
        if isinstance(value, _SCALARS):  # a subclass of int/str (an enum member, a flag)
            return f"{_type_name(value)} = {_clip(repr(value), 80)}"
        if isinstance(value, enum.Enum):
            return f"{_type_name(value)} = {kind.__name__}.{value.name}"
        if inspect.isclass(value):
            return "class"
        if callable(value) and inspect.isroutine(value):
            return f"function{_signature(value)}{_doc_line(value)}"
        if _has(kind, "columns") and _has(kind, "dtypes") and _has(kind, "shape"):
            return _describe_frame(value)
        if _has(kind, "shape") and _has(kind, "dtype"):
            return _describe_array(value)
        return _describe_object(value)
    except Exception as error:  # a user's object may raise from anything we touch
        return f"{_type_name(value)} (could not describe: {type(error).__name__})"


def _describe_frame(frame: Any) -> str:
    columns = list(frame.columns)
    dtypes = frame.dtypes
    dtype_of = dtypes.items() if hasattr(dtypes, "items") else zip(columns, dtypes, strict=False)
    shown = [f"{name} ({dtype})" for name, dtype in list(dtype_of)[:MAX_COLUMNS]]
    more = f", ... {len(columns) - MAX_COLUMNS} more" if len(columns) > MAX_COLUMNS else ""
    shape = tuple(frame.shape)
    return f"{_type_name(frame)}, shape {shape}; columns: {', '.join(shown)}{more}"


def _describe_array(array: Any) -> str:
    text = f"{_type_name(array)}, shape {tuple(array.shape)}, dtype {array.dtype}"
    name = getattr(array, "name", None)
    if isinstance(name, str):
        text += f", name {name!r}"
    return text


def _describe_object(value: Any) -> str:
    kind = type(value)
    text = _type_name(value)
    if (
        kind.__module__.split(".")[0] in _CHEAP_REPR_MODULES
        and kind.__repr__ is not object.__repr__
    ):
        text += f" = {_clip(repr(value), 80)}"
    return text


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__.split(".")[0]
    # The user's own classes live in __main__: the module name would only add noise.
    return kind.__name__ if module in ("builtins", "__main__") else f"{kind.__name__} ({module})"


def _signature(function: Any) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def _doc_line(function: Any) -> str:
    doc = inspect.getdoc(function)
    return f": {doc.splitlines()[0]}" if doc else ""


def _has(kind: type, attribute: str) -> bool:
    # Look on the type, not the instance: instance __getattr__ can do anything.
    return any(attribute in vars(klass) for klass in kind.__mro__)


def _clip(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """One line for the summary: a multi-line value squeezed, a one-line repr kept as it is."""
    return squeezed(text, limit) if "\n" in text else cut(text, limit)
