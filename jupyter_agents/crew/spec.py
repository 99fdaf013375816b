"""What a crew is: roles with goals and sections, a task, a process. Parsed and checked whole.

``%%crew`` takes its spec as YAML in the cell body. Everything is validated before anything
runs: a typo in a key, a duplicate section or an unknown process is one clear line, and no
model is called and no cell runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import InvalidOption
from ..kernel.turn_end import match_role
from ..text.terminal_text import quoted

PROCESSES = ("sequential", "hierarchical")
_ROLE_KEYS = ("role", "goal", "backstory", "model", "tools", "max_steps", "section")
_CREW_KEYS = ("task", "process", "agents", "manager_model", "max_handoffs")


class CrewSpecError(InvalidOption):
    """The crew's description has a problem; nothing ran."""


@dataclass(frozen=True)
class RoleSpec:
    """One role of a crew."""

    role: str
    goal: str
    backstory: str = ""
    model: str | None = None
    tools: tuple[str, ...] = ()
    max_steps: int | None = None
    section: str = ""

    @property
    def section_title(self) -> str:
        """The notebook section this role owns (its role name if none was given)."""
        return self.section or self.role


@dataclass(frozen=True)
class CrewSpec:
    task: str
    roles: tuple[RoleSpec, ...]
    process: str = "sequential"
    manager_model: str | None = None
    #: Handoffs (or delegations) allowed in one run; stops roles passing work back and forth.
    max_handoffs: int | None = None

    @property
    def handoff_limit(self) -> int:
        return self.max_handoffs if self.max_handoffs is not None else 3 * len(self.roles)

    def as_record(self) -> dict[str, Any]:
        """The spec as the notebook records it (JSON types only; no task, it is recorded apart)."""
        return {
            "process": self.process,
            "manager_model": self.manager_model,
            "max_handoffs": self.max_handoffs,
            "roles": [
                {
                    "role": role.role,
                    "goal": role.goal,
                    "section": role.section_title,
                    "backstory": role.backstory,
                    "model": role.model,
                    "tools": list(role.tools),
                    "max_steps": role.max_steps,
                }
                for role in self.roles
            ],
        }

    def role(self, name: str) -> RoleSpec | None:
        found = match_role(name, self.role_names)
        return next((r for r in self.roles if r.role == found), None)

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.role for role in self.roles)


def parse_crew_text(text: str) -> dict[str, Any]:
    """The YAML body of a ``%%crew`` cell, as a mapping."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise CrewSpecError(
            f"the %%crew body is not valid YAML{where}: {problem}. See `%crew --help`."
        ) from None
    if not isinstance(data, dict):
        raise CrewSpecError(
            "the %%crew body must be YAML with `task:`, `process:` and `agents:` (a list of "
            "roles); see `%crew --help`."
        )
    return data


def build_crew_spec(data: dict[str, Any], task: str | None = None) -> CrewSpec:
    """Check a crew description (from YAML or Python) and build the spec."""
    _check_keys(data, _CREW_KEYS, "the crew")
    task = (task if task is not None else str(data.get("task") or "")).strip()
    if not task:
        raise CrewSpecError("the crew has no task: add `task: ...` (what the team should do).")
    process = str(data.get("process") or "sequential").strip()
    if process not in PROCESSES:
        raise CrewSpecError(
            f"process must be 'sequential' or 'hierarchical', not {quoted(process)}."
        )
    agents = data.get("agents")
    if not isinstance(agents, list) or not agents:
        raise CrewSpecError("`agents:` must be a list of roles, each with `role:` and `goal:`.")
    roles = tuple(_role(entry, number) for number, entry in enumerate(agents, 1))
    _check_unique(roles)
    return CrewSpec(
        task=task,
        roles=roles,
        process=process,
        manager_model=_optional_text(data.get("manager_model")),
        max_handoffs=_optional_count(data.get("max_handoffs"), "max_handoffs"),
    )


def _role(entry: Any, number: int) -> RoleSpec:
    if not isinstance(entry, dict):
        raise CrewSpecError(f"agent {number} must be a mapping with `role:` and `goal:`.")
    _check_keys(entry, _ROLE_KEYS, f"agent {number}")
    for key in ("role", "goal", "backstory", "section", "model"):
        if isinstance(entry.get(key), (list, dict)):
            kind = "a list" if isinstance(entry[key], list) else "a mapping"
            raise CrewSpecError(f"`{key}:` of agent {number} must be text, not {kind}.")
    role = str(entry.get("role") or "").strip()
    goal = str(entry.get("goal") or "").strip()
    if not role or not goal:
        missing = "role" if not role else "goal"
        raise CrewSpecError(f"agent {number} has no `{missing}:`; every agent needs both.")
    tools = entry.get("tools") or ()
    if isinstance(tools, str):
        tools = [part.strip() for part in tools.split(",") if part.strip()]
    if not isinstance(tools, Sequence) or not all(isinstance(t, str) for t in tools):
        raise CrewSpecError(f"`tools:` of {quoted(role)} must be a list of function names.")
    return RoleSpec(
        role=role,
        goal=goal,
        backstory=str(entry.get("backstory") or "").strip(),
        model=_optional_text(entry.get("model")),
        tools=tuple(tools),
        max_steps=_optional_count(entry.get("max_steps"), f"max_steps of {quoted(role)}"),
        section=str(entry.get("section") or "").strip(),
    )


def _check_keys(data: dict[str, Any], allowed: Sequence[str], what: str) -> None:
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise CrewSpecError(
            f"{what} has an unknown key {quoted(unknown[0])}; the keys are {', '.join(allowed)}."
        )


def _check_unique(roles: Sequence[RoleSpec]) -> None:
    seen_roles: set[str] = set()
    owners: dict[str, str] = {}
    for role in roles:
        if role.role.casefold() in seen_roles:
            raise CrewSpecError(
                f"two agents have the role {quoted(role.role)}; give each a distinct role."
            )
        seen_roles.add(role.role.casefold())
        title = role.section_title.casefold()
        if title in owners:
            raise CrewSpecError(
                f"{quoted(owners[title])} and {quoted(role.role)} both own the section "
                f"{quoted(role.section_title)}; give each role its own `section:`."
            )
        owners[title] = role.role


def _optional_text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _optional_count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CrewSpecError(f"{what} must be a whole number of at least 1, not {quoted(value)}.")
    return value
