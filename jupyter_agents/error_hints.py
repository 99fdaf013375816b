"""What the model needs, besides the traceback, to fix a failed cell.

Real models (measured with a 1.5B coder model) answered a ``KeyError`` by explaining it in
prose, guessed column names again, and after ``ModuleNotFoundError`` wrote ``!pip install``,
which installs with whatever ``pip`` is first on PATH, often not the kernel's. The fix is in
the kernel's state, so the observation of a failed cell carries a short, bounded hint built
from it: the names the cell used as they are now (a data frame's columns, a dict's keys), the
files in the working directory when a file was not found, and ``%pip`` when a module is
missing. Nothing here runs user code beyond :func:`~.kernel_state.describe`'s cheap reads.
"""

from __future__ import annotations

import ast
import os
import types
from collections.abc import Mapping
from typing import Any

from .kernel_state import describe
from .redact import looks_secret

#: Names described after a failure, and files listed when one was not found.
MAX_NAMES = 6
MAX_FILES = 25
#: Import names whose package on PyPI has another name (the common cases).
PYPI_NAMES = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
}
#: Errors whose cause is usually in the values the cell used.
_STATE_ERRORS = (KeyError, IndexError, AttributeError, TypeError, ValueError, NameError)


def error_hint(error: BaseException, code: str, namespace: Mapping[str, Any]) -> str | None:
    """A few lines that help fix ``error``, raised by the cell ``code``; None if none help."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        return missing_module_hint(error.name)
    if isinstance(error, FileNotFoundError):
        return working_directory_hint()
    if isinstance(error, _STATE_ERRORS):
        return names_used_hint(code, namespace)
    return None


def missing_module_hint(module: str) -> str:
    top = module.split(".")[0]
    package = PYPI_NAMES.get(top, top)
    return (
        f"{top} is not installed in this kernel's environment. If the task allows installing "
        f"packages, a cell with `%pip install {package}` installs it there (`!pip` may "
        "install into another Python); otherwise do without it."
    )


def working_directory_hint() -> str:
    """The working directory and what is in it (the file the cell wanted is often there)."""
    try:
        cwd = os.getcwd()
        names = sorted(os.listdir(cwd))
    except OSError:
        return "The working directory cannot be read."
    shown = ", ".join(names[:MAX_FILES]) or "(empty)"
    more = f", and {len(names) - MAX_FILES} more" if len(names) > MAX_FILES else ""
    return f"The working directory is {cwd}; it holds: {shown}{more}."


def names_used_hint(code: str, namespace: Mapping[str, Any]) -> str | None:
    """The user-level names the cell read, described as they are after it failed."""
    lines = []
    for name in _names_read(code):
        if name not in namespace or name.startswith("_") or looks_secret(name):
            continue
        value = namespace[name]
        if isinstance(value, (types.ModuleType, type)) or callable(value):
            continue
        lines.append(f"- {name}: {describe(value)}")
        if len(lines) == MAX_NAMES:
            break
    if not lines:
        return None
    return "The names this cell used, as they are now:\n" + "\n".join(lines)


def _names_read(code: str) -> list[str]:
    """Names the cell loads, each once (a cell that does not parse: none)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return []
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            seen.setdefault(node.id, None)
    return list(seen)
