"""Which existing objects a cell may change in place, read conservatively from its syntax tree.

Undo restores bindings exactly (the namespace before and after each cell is compared), but a
change *inside* an object leaves its binding as it was: ``df["c"] = 1``, ``items.append(x)``.
Those objects must be copied before the cell runs, so this module names them. It errs towards
naming too many (a copy too many costs memory, a copy too few loses the user's data), and it
only ever names objects that already exist: a name the cell binds first is new, and undo
removes it.

Seen as changing their object: subscript and attribute assignment, augmented assignment,
``del x[...]``/``del x.a``, calls of mutating methods (and any call with ``inplace=True``),
and an object passed to a function the notebook defined (it may change its argument).
"""

from __future__ import annotations

import ast
import types
from collections.abc import Mapping
from typing import Any

#: Methods that change their object (lists, dicts, sets, arrays, pandas), by name.
MUTATING_METHODS = frozenset(
    """
    append extend insert pop popitem remove clear update setdefault sort reverse add discard
    difference_update intersection_update symmetric_difference_update appendleft extendleft
    rotate fill resize put itemset setfield setflags partition byteswap
    drop dropna fillna ffill bfill rename rename_axis set_index reset_index replace
    interpolate mask where clip update set_axis sort_values sort_index insert astype
    __setitem__ __delitem__ __iadd__ __setattr__ __delattr__
    """.split()
)


def mutation_targets(code: str, namespace: Mapping[str, Any]) -> list[str]:
    """Names of objects in ``namespace`` that ``code`` may change in place, in order met.

    Code that does not parse as Python (magics, shell lines) is read as far as IPython's
    transforms allow by the caller; here it names nothing.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return []
    finder = _TargetFinder(namespace, _functions_defined_in(tree))
    try:
        finder.visit(tree)
    except RecursionError:
        return []
    return [name for name in dict.fromkeys(finder.found) if name in namespace]


def _functions_defined_in(tree: ast.AST) -> set[str]:
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, functions)}


def _root_name(node: ast.AST) -> str | None:
    """``df`` for ``df``, ``df["a"]``, ``df.loc[0]``, ``obj.items[2].x``."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _TargetFinder(ast.NodeVisitor):
    def __init__(self, namespace: Mapping[str, Any], own_functions: set[str]) -> None:
        self.namespace = namespace
        self.own_functions = own_functions
        self.found: list[str] = []

    def _changed(self, node: ast.AST) -> None:
        name = _root_name(node)
        if name is not None:
            self.found.append(name)

    def _target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            self._changed(target)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element)
        elif isinstance(target, ast.Starred):
            self._target(target.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._changed(node.target)  # ``items += [x]`` extends the list itself
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._target(item.optional_vars)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and (
            func.attr in MUTATING_METHODS or _has_inplace(node)
        ):
            self._changed(func.value)
        if _has_inplace(node):
            for argument in node.args:
                self._changed(argument)
        if self._notebook_function(func):
            for argument in (*node.args, *(keyword.value for keyword in node.keywords)):
                self._changed(argument)
        self.generic_visit(node)

    def _notebook_function(self, func: ast.AST) -> bool:
        """A function of the cell's own, or one an earlier cell of the notebook defined."""
        if not isinstance(func, ast.Name):
            return False
        if func.id in self.own_functions:
            return True
        value = self.namespace.get(func.id)
        return isinstance(value, types.FunctionType) and value.__module__ == "__main__"


def _has_inplace(node: ast.Call) -> bool:
    return any(
        keyword.arg == "inplace"
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
        for keyword in node.keywords
    )
