"""Where the browser tests put their screenshots.

Screenshots for the README are taken by the test suite from the real UI: with
``JUPYTER_AGENTS_UPDATE_SCREENSHOTS=1`` they go to ``docs/images`` (and are committed),
otherwise to ``test-artifacts`` (ignored by git), so a normal test run changes no tracked file.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
README_IMAGES = ROOT / "docs" / "images"


def save_screenshot(locator, name: str) -> None:
    """Save ``locator``'s screenshot as ``name`` (see the module doc for where)."""
    target = README_IMAGES if os.environ.get("JUPYTER_AGENTS_UPDATE_SCREENSHOTS") else ARTIFACTS
    target.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(target / name))
