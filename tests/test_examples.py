"""The example notebooks carry recorded runs that pass `jupyter agents replay` offline.

They were recorded with the scripted test model (``python -m tests.support.examples``), and
their first cell must say so. Replay gets no model endpoint at all: any model call would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_agents.notebook.schema import metadata_errors

pytestmark = pytest.mark.kernel

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXAMPLES = ["quickstart.ipynb", "crew.ipynb"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_is_labelled_valid_and_recorded(name: str):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert metadata_errors(nb) == []
    assert "scripted test model" in nb.cells[0].source
    runs = nb.metadata["jupyter_agents"]["runs"]
    assert runs and all(run["status"] == "completed" for run in runs)
    assert all(run["model"] == "openai/scripted-test-model" for run in runs)


def test_the_crew_example_has_three_sections():
    nb = nbformat.read(NOTEBOOKS / "crew.ipynb", as_version=4)
    sections = [
        cell.source for cell in nb.cells if "section" in cell.metadata.get("jupyter_agents", {})
    ]
    assert sections == ["## Data preparation", "## Analysis", "## Report"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_replays_offline(name: str, tmp_path: Path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "ANTHROPIC_", "JUPYTER_AGENTS_", "LITELLM_"))
    }
    env["OPENAI_API_BASE"] = "http://127.0.0.1:9/unreachable"  # a model call would fail
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_agents.cli", "replay", str(NOTEBOOKS / name)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reproduced: all" in result.stdout
    if name == "quickstart.ipynb":  # its first step raised, as recorded: named as such
        assert "(agent step 1, auto, part of its run): KeyError: 'Date'" in result.stderr
