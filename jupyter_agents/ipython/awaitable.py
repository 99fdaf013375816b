"""Making ``%agent`` an awaited coroutine, so the cell stays busy while the agent works.

A magic is a plain function call: IPython turns ``%agent task`` into
``get_ipython().run_line_magic('agent', 'task')``. Our magic returns an awaitable, and this
input transformer (run after IPython's own, on the transformed source) puts ``await`` in front
of those calls. The cell then has top-level await, IPython runs it as a coroutine, the kernel
keeps processing widget clicks while it awaits (ipykernel >= 7.4), the interrupt button
cancels it, and headless executors wait for it like any cell.

The rewrite is done on the syntax tree, not with a regex: only real calls at the cell's top
level (not inside a ``def``, which cannot await) are changed.

A second, earlier transformer protects the task text: IPython reads a line ending in ``?`` as
a help request, so ``%agent How many rows?`` would become ``pinfo rows``. Lines that start
with ``%agent`` are turned into the magic call before IPython's own rules see them.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
import tokenize
from collections.abc import Iterator

#: Magics whose calls are awaited.
AWAITED_MAGICS = {"agent", "crew", "agent_undo"}
_CALLERS = {"run_line_magic", "run_cell_magic"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


_MAGIC_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<assign>[\w.]+[ \t]*=[ \t]*)?%(?P<name>\w+)(?P<rest>(?:[ \t].*)?)$"
)
_HELP_REQUEST = re.compile(r"^\s*\?{1,2}\s*$")


def agent_lines_as_calls(lines: list[str]) -> list[str]:
    """IPython line transformer: ``%agent TASK`` -> the magic call, with TASK kept verbatim.

    Runs before IPython's token transformers (whose help syntax would take a trailing ``?``).
    ``%agent?`` alone stays a help request; lines inside multi-line strings are left alone.
    """
    if not any("%" in line for line in lines):
        return lines
    in_strings = _lines_inside_strings("".join(lines))
    changed = list(lines)
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = _MAGIC_LINE.match(body)
        if (
            match is None
            or match["name"] not in AWAITED_MAGICS
            or index + 1 in in_strings
            or _HELP_REQUEST.match(match["rest"])
        ):
            continue
        call = f"get_ipython().run_line_magic({match['name']!r}, {match['rest'].strip()!r})"
        changed[index] = f"{match['indent']}{match['assign'] or ''}{call}{line[len(body) :]}"
    return changed


def _lines_inside_strings(source: str) -> set[int]:
    """Line numbers (1-based) that lie inside a multi-line string literal."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # IPython syntax can confuse tokenize; what was found so far still holds
    return inside


def await_agent_magics(lines: list[str]) -> list[str]:
    """IPython input transformer: ``get_ipython().run_*_magic('agent', ...)`` -> awaited."""
    source = "".join(lines)
    if not any(f"'{name}'" in source or f'"{name}"' in source for name in AWAITED_MAGICS):
        return lines
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return lines  # IPython will report the syntax error itself
    starts = sorted(
        ((node.lineno, node.col_offset) for node in _unawaited_magic_calls(tree)), reverse=True
    )
    if not starts:
        return lines
    rows = source.splitlines(keepends=True)
    for lineno, col_offset in starts:
        row = rows[lineno - 1]
        column = len(row.encode("utf-8")[:col_offset].decode("utf-8"))  # AST columns are bytes
        rows[lineno - 1] = row[:column] + "await " + row[column:]
    return rows


def _unawaited_magic_calls(tree: ast.AST) -> Iterator[ast.Call]:
    awaited = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Await)}
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        if isinstance(node, ast.Call) and _is_agent_magic(node) and id(node) not in awaited:
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _is_agent_magic(call: ast.Call) -> bool:
    function = call.func
    return (
        isinstance(function, ast.Attribute)
        and function.attr in _CALLERS
        and isinstance(function.value, ast.Call)
        and isinstance(function.value.func, ast.Name)
        and function.value.func.id == "get_ipython"
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value in AWAITED_MAGICS
    )


def caller_can_await() -> bool:
    """Whether the code that called the magic is a coroutine (so it can await our result).

    It is not when the extension was loaded in the same cell as ``%agent`` (the cell was
    transformed before the extension existed) or when ``%agent`` sits inside a ``def``. Cells
    with top-level await are compiled with the CO_COROUTINE flag, so the caller's frame tells.
    """
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("IPython.", "jupyter_agents", "decorator")):
            return bool(frame.f_code.co_flags & inspect.CO_COROUTINE)
        frame = frame.f_back
    return False
