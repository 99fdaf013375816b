"""The package's layout holds: each part imports only the layers below it; modules stay small.

The order below is the architecture (docs/architecture.md): data types at the bottom, the
IPython and terminal entry points at the top. An import that runs back up a layer is how a
clean layout decays, so it fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_agents"

#: Bottom to top. A module may import its own subpackage and any subpackage listed before it.
LAYERS = [
    "_version",
    "prompts",
    "text",
    "core",
    "safety",
    "kernel",
    "notebook",
    "ui",
    "agent",
    "run",
    "crew",
    "ipython",
    "cli",
]
#: Rule tables are knowledge, one line per rule: long by nature, not two jobs.
LONG_BY_NATURE = {"safety/risk_rules.py"}
#: "About 400 lines": a few lines over is a docstring, not a second job.
MAX_MODULE_LINES = 410


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts)


def _part(path: Path) -> str:
    """Which layer a module belongs to: its subpackage, or its own name at the top level."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[str]:
    """The package's parts that a module imports, lazily or not, resolved from relative imports."""
    package = path.relative_to(PACKAGE).parent.parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
                names = [alias.name for alias in node.names] if not node.module else []
            elif node.module and node.module.split(".")[0] == "jupyter_agents":
                target = node.module.split(".")[1:]
                names = [alias.name for alias in node.names] if len(target) == 0 else []
            else:
                continue
            if target:
                found.add(target[0])
            found.update(names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "jupyter_agents" and len(parts) > 1:
                    found.add(parts[1])
    return {part for part in found if part in LAYERS}


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {_part(path) for path in _modules()} - {"__init__"}
    assert parts <= set(LAYERS), f"add {sorted(parts - set(LAYERS))} to LAYERS"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up_a_layer(path: Path) -> None:
    own = _part(path)
    if own == "__init__":
        return  # the public API re-exports from every layer
    upward = {part for part in _imported_parts(path) if LAYERS.index(part) > LAYERS.index(own)}
    assert not upward, f"{path.relative_to(PACKAGE)} ({own}) imports from above: {sorted(upward)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    relative = path.relative_to(PACKAGE).as_posix()
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if relative not in LONG_BY_NATURE:
        assert lines <= MAX_MODULE_LINES, f"{relative} has {lines} lines: it holds two jobs"
