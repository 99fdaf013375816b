"""Notebook sections: a heading cell and the cells under it, found as a person would mark them."""

from __future__ import annotations

from typing import Any

from ..core.records import SectionMark, cell_record


def find_section(
    cells: list[dict[str, Any]], title: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The heading cell of section ``title`` and the cells under it, up to the next heading.

    A section starts at a markdown cell that an agent marked as that section, or whose first
    line is a heading with that title (``## Analysis``), as a person would write it. It ends
    at the next heading of the same or a higher level.
    """
    wanted = title.strip().casefold()
    for index, cell in enumerate(cells):
        level = heading_level(cell)
        if level is None:
            continue
        mark = cell_record(cell)
        marked = mark.section if isinstance(mark, SectionMark) else None
        text = str(cell.get("source", "")).splitlines()[0].lstrip("#").strip()
        if str(marked or text).strip().casefold() != wanted:
            continue
        body = []
        for other in cells[index + 1 :]:
            other_level = heading_level(other)
            if other_level is not None and other_level <= level:
                break
            body.append(other)
        return cell, body
    return None


def heading_level(cell: dict[str, Any]) -> int | None:
    if cell.get("cell_type") != "markdown":
        return None
    first = str(cell.get("source", "")).lstrip().split("\n", 1)[0]
    hashes = len(first) - len(first.lstrip("#"))
    return hashes if 0 < hashes <= 6 and first[hashes : hashes + 1] == " " else None


class CellPlacement:
    """Where a run's next cell goes: after the current section's last cell, or the run's.

    A single agent's cells follow the prompt cell in order. A crew's go into each role's
    section; a section can be entered again (a role's second turn) and grows in place, while
    new sections go after the newest one.
    """

    def __init__(self, anchor_cell_id: str) -> None:
        #: The last cell of the run so far, in document order: new sections go after it.
        self.end = anchor_cell_id
        #: Section title -> its last cell; and the section new cells go into (None: none).
        self._sections: dict[str, str] = {}
        self._section: str | None = None
        self._newest: str | None = None

    def where(self) -> str:
        """The cell new cells go after: the current section's end, or the run's end."""
        return self._sections[self._section] if self._section else self.end

    def advance(self, cell_id: str) -> None:
        """``cell_id`` was just added where :meth:`where` said: move the ends past it."""
        if self._section is None:
            self.end = cell_id
            return
        self._sections[self._section] = cell_id
        if self._section == self._newest:
            self.end = cell_id

    def reenter(self, title: str) -> bool:
        """Make ``title`` current again if the run has it already; whether it had."""
        if title in self._sections:
            self._section = title
        return title in self._sections

    def enter(self, title: str, last_cell_id: str) -> None:
        """A new section, ending at ``last_cell_id``, is now the current and newest one."""
        self._sections[title] = self.end = last_cell_id
        self._section = self._newest = title
