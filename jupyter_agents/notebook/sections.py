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
