"""What the risk review finds, as data: a flag's category, reason and line.

The review itself lives in :mod:`jupyter_agents.safety`; the steps, views and notebook record
only hold flags, so the type sits with the other data types at the bottom of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Category(str, Enum):
    """What kind of harm a flagged operation can do (the values are stable, for storage)."""

    DELETE_FILES = "delete_files"
    OVERWRITE_FILES = "overwrite_files"
    SHELL = "shell"
    NETWORK = "network"
    INSTALL = "install"
    SECRETS = "secrets"
    DYNAMIC_CODE = "dynamic_code"
    PROCESSES = "processes"
    OUTSIDE_DIR = "outside_dir"


@dataclass(frozen=True)
class RiskFlag:
    """One risky operation: its category, a one-line reason naming the call, its 1-based line."""

    category: Category
    reason: str
    line: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"

    def as_json(self) -> dict[str, Any]:
        """The flag as cell provenance stores it (``metadata.jupyter_agents.risks[]``)."""
        return {"category": self.category.value, "reason": self.reason, "line": self.line}
