"""What the model learns from a failed cell: the traceback, folded, and a hint to fix it.

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
import itertools
import os
import sysconfig
import traceback
import types
from collections.abc import Mapping
from typing import Any

from ..core.observation import truncate_middle
from ..safety.redact import looks_secret
from .namespace_summary import describe

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
    """A few lines that help fix ``error``, raised by the cell ``code``; None if none help.

    Never raises: a failed cell must not become a crash of the loop.
    """
    try:
        return _hint(error, code, namespace)
    except Exception:
        return None


def _hint(error: BaseException, code: str, namespace: Mapping[str, Any]) -> str | None:
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


def format_error(error: BaseException, max_chars: int) -> str:
    """The error as the model should see it: type, message and the frames of the cell's code.

    IPython's own frames (run_code and friends) come first in the traceback and say nothing
    about the cell, so frames are kept from the first one outside IPython's package. Frames
    inside installed libraries (pandas' ten frames under ``astype``) are folded into one line
    naming the library: the model can fix its own line, not pandas', and a real model given
    the whole stack spent its tokens on it.
    """
    if isinstance(error, SyntaxError):
        text = "".join(traceback.format_exception_only(type(error), error))
        return truncate_middle(text.strip(), max_chars)
    summary = traceback.extract_tb(error.__traceback__)
    frames = [frame for frame in summary if not _machinery(frame.filename)]
    lines = ["Traceback (most recent call last):\n"]
    for library, group in itertools.groupby(frames, key=lambda frame: _library(frame.filename)):
        run = list(group)
        if library is None:
            lines += traceback.format_list(run)
        else:
            count = f"{len(run)} frames" if len(run) > 1 else "1 frame"
            lines.append(f"  [... {count} inside {library} ...]\n")
    lines += traceback.format_exception_only(type(error), error)
    return truncate_middle("".join(lines).strip(), max_chars, head_share=0.3)


_LIBRARY_DIRS = tuple(
    os.path.join(path, "")
    for path in {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
)


def _library(filename: str) -> str | None:
    """The installed library (or ``the standard library``) a frame's file belongs to."""
    parts = filename.replace("\\", "/").split("/")
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            return rest[0].removesuffix(".py") if rest else marker
    if filename.startswith(_LIBRARY_DIRS):
        return "the standard library"
    return None


#: The package root: frames from any of its subpackages are machinery, not the user's code.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _machinery(filename: str) -> bool:
    """A frame of IPython's or ours (the interrupt handlers), not of the cell's code."""
    return "/IPython/" in filename.replace("\\", "/") or filename.startswith(_PACKAGE_DIR)
