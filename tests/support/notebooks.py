"""Notebooks and environments that the tests of ``jupyter agents run / replay`` share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def python_notebook(cells: list[Any]) -> nbformat.NotebookNode:
    """A notebook for the python3 kernel holding ``cells`` (nbformat cells, or sources)."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.cells = [
        nbformat.v4.new_code_cell(cell) if isinstance(cell, str) else cell for cell in cells
    ]
    return notebook


def write_python_notebook(path: Path, cells: list[Any]) -> None:
    nbformat.write(python_notebook(cells), path)


def cli_environment(kernel_environment: dict[str, str]) -> dict[str, str]:
    """A kernel's environment for ``python -m jupyter_agents.cli`` run from the repository:
    this checkout first on the path, in the command and in the kernels it starts."""
    paths = [str(Path.cwd()), kernel_environment.get("PYTHONPATH", "")]
    return {**kernel_environment, "PYTHONPATH": os.pathsep.join(paths)}
