"""The JupyterLab extension (labextension/): its TypeScript unit tests, and its installation.

`jlpm` and `jupyter` come from the environment running pytest (next to its Python), so the
project's single `pytest` command runs the TypeScript tests too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from jupyter_agents._version import __version__

LABEXTENSION = Path(__file__).resolve().parent.parent / "labextension"
BIN = Path(sys.executable).parent


def test_typescript_unit_tests_pass():
    # The same dependencies `pip install -e .` installed to build the extension.
    assert (LABEXTENSION / "node_modules").is_dir(), "run `pip install -e .` first"
    result = subprocess.run(
        [str(BIN / "jlpm"), "run", "test"],
        cwd=LABEXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"Tests:\s+\d+ passed, \d+ total", report), report


def test_extension_is_installed_and_enabled():
    result = subprocess.run(
        [str(BIN / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colours
    assert result.returncode == 0, listing
    line = next((x for x in listing.splitlines() if x.strip().startswith("jupyter-agents ")), "")
    assert line, listing
    assert "enabled" in line and "OK" in line, line


def test_the_wheel_ships_the_built_extension(tmp_path: Path):
    # What `pip install jupyter-agents` gets: the extension prebuilt, so no Node.js is needed.
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=LABEXTENSION.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = tmp_path.glob("jupyter_agents-*.whl")
    prefix = f"jupyter_agents-{__version__}.data/data/share/jupyter/labextensions/jupyter-agents/"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        package = json.loads(archive.read(prefix + "package.json"))
    entry = package["jupyterlab"]["_build"]["load"]  # the bundle JupyterLab loads first
    assert prefix + entry in names
    assert prefix + "schemas/jupyter-agents/plugin.json" in names
    assert "jupyter_agents/schemas/cell.json" in names  # the provenance schemas ship too
