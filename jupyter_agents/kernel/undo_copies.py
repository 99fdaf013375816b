"""Copying an object before a cell may change it, and putting its contents back on undo.

Each type is copied its own way (``DataFrame.copy(deep=True)``, ``ndarray.copy()``,
``copy.deepcopy`` for the rest), after its size is estimated, so the run's memory budget is
checked before the copy is made, never after. Restoring works *in place* where the type allows
(list, dict, set, bytearray, numpy array of the same shape, pandas DataFrame/Series), so every
other reference to the object sees its old contents too; anything else is restored by binding
its name to the copy, and undo says so.
"""

from __future__ import annotations

import copy
import io
import sys
import types
from dataclasses import dataclass
from typing import Any

#: Values no cell can change in place: never copied.
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset, range, type)
#: Objects a copy would not bring back (or cannot be made of).
_NOT_COPYABLE = (
    types.ModuleType,
    types.GeneratorType,
    types.AsyncGeneratorType,
    types.CoroutineType,
    types.FunctionType,
    io.IOBase,
)


class NotCopyable(Exception):
    """The object cannot be snapshotted; the message says why, in a few words."""


@dataclass
class ObjectCopy:
    """An object as it was before the run first changed it."""

    original: Any
    copy: Any
    nbytes: int


def needs_copy(value: Any) -> bool:
    """Whether ``value`` can be changed in place at all (an int cannot)."""
    if isinstance(value, _IMMUTABLE):
        return False
    if isinstance(value, tuple):
        return any(needs_copy(item) for item in value)
    return True


def estimated_size(value: Any, limit: int) -> int:
    """Bytes a copy of ``value`` would take, estimated; stops counting past ``limit``."""
    memory_usage = getattr(value, "memory_usage", None)
    if callable(memory_usage) and _is_pandas(value):
        usage = memory_usage(deep=True)
        return int(usage.sum() if hasattr(usage, "sum") else usage)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int) and type(value).__module__.startswith("numpy"):
        return nbytes
    return _walk_size(value, limit)


def _walk_size(value: Any, limit: int) -> int:
    """``sys.getsizeof`` over built-in containers' items, breadth first, up to ``limit``."""
    total, seen, queue = 0, set(), [value]
    while queue and total <= limit:
        item = queue.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        try:
            total += sys.getsizeof(item)
        except TypeError:
            total += 64
        if isinstance(item, dict):
            queue.extend(item.keys())
            queue.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            queue.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            queue.append(vars(item))
    return total


def snapshot(value: Any) -> Any:
    """A copy of ``value`` that later changes to ``value`` do not reach."""
    if isinstance(value, _NOT_COPYABLE):
        raise NotCopyable(f"a {type(value).__name__} cannot be copied")
    if _is_pandas(value):
        return value.copy(deep=True)
    if type(value).__module__.startswith("numpy") and hasattr(value, "copy"):
        return value.copy()
    try:
        return copy.deepcopy(value)
    except Exception as error:
        raise NotCopyable(f"copying it raised {type(error).__name__}") from None


def can_restore_in_place(original: Any, saved: Any) -> bool:
    """Whether :func:`restore_in_place` can put ``saved`` back into ``original``."""
    if isinstance(original, (list, dict, set, bytearray)):
        return True
    if _is_pandas(original):
        return hasattr(original, "_update_inplace")
    return type(original).__module__.startswith("numpy") and _same_shape(original, saved)


def restore_in_place(original: Any, saved: Any) -> bool:
    """Put ``saved``'s contents into ``original``; False if its type does not allow it."""
    if not can_restore_in_place(original, saved):
        return False
    if isinstance(original, list):
        original[:] = saved
    elif isinstance(original, (dict, set)):
        original.clear()
        original.update(saved)
    elif isinstance(original, bytearray):
        original[:] = saved
    elif _is_pandas(original):
        # pandas' own way to swap an object's data, as its ``inplace=True`` methods do.
        original._update_inplace(saved)
    else:
        original[...] = saved
    return True


def _same_shape(original: Any, saved: Any) -> bool:
    return getattr(original, "shape", None) == getattr(saved, "shape", None) and getattr(
        original, "dtype", None
    ) == getattr(saved, "dtype", None)


def _is_pandas(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("pandas") and type(value).__name__ in ("DataFrame", "Series")
