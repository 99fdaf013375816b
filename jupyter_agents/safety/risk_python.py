"""The Python half of the risk review: a walk over a parsed cell that finds what is risky.

Why a module of its own: :mod:`jupyter_agents.safety.risk` deals with IPython (magics, ``!cmd``),
shell command lines and paths on disk; this module reads plain Python. :class:`CallFinder`
walks the AST once in source order, so that each name's binding is known when it is used:
``import os as o``, ``p = Path("notes.txt")``, ``with TemporaryDirectory() as tmp``. It
records those bindings in a :class:`.risk_values.Resolver`, flags what is not a call (reading
``os.environ``, a ``from __future__`` import, a risky function stored as a value, a change to
how IPython reads later cells) and hands each call to :class:`.risk_calls.CallChecks`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from ..core.risk_flags import Category
from . import risk_rules as rules
from .risk_calls import CallChecks, escaping_rule, function_name
from .risk_rules import DYNAMIC, SECRETS
from .risk_values import ENVIRONS, SAME_FUNCTION, SHELL_OBJECT, Ref, Resolver, short


class CallFinder(ast.NodeVisitor):
    """Walks one parsed cell and reports its risky calls to ``review`` (a ``risk._Review``)."""

    def __init__(self, review: Any, line_of: Callable[[int], int]):
        self.review = review
        self.names = Resolver(review.namespace)
        self.calls = CallChecks(review, self.names, line_of)
        self.called: set[int] = set()  # nodes called or handed to a call, not stored away
        self.visits = 0

    def visit(self, node: ast.AST) -> Any:
        self.visits += 1
        if not self.visits % 256:  # the review is bounded in time (risk_reading.Reading)
            self.review.reading.check_time()
        return super().visit(node)

    def flag(self, category: Category, reason: str, node: ast.AST) -> None:
        self.calls.flag(category, reason, node)

    # Statements that bind names.

    def bind(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.names.set(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            for element in ast.iter_child_nodes(target):
                self.bind(element, None)
        else:  # x.attr = ..., x[i] = ...
            self.visit(target)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.names.set(name, Ref(rules.normal(alias.name if alias.asname else name)))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":  # the kernel keeps the flag: later cells parse otherwise
            names = ", ".join(alias.name for alias in node.names)
            reason = f"from __future__ import {names} changes how Python reads later cells"
            self.flag(DYNAMIC, reason, node)
        for alias in node.names:
            if alias.name == "*" and node.module and not node.level:
                self.names.star_modules.append(node.module)
            elif node.module and not node.level:
                full = Ref(rules.normal(f"{node.module}.{alias.name}"))
                self.names.set(alias.asname or alias.name, full)
            else:
                self.names.set(alias.asname or alias.name, None)

    def visit_Assign(self, node: Any) -> None:  # also AnnAssign and NamedExpr (walrus)
        if node.value is not None:
            self.visit(node.value)
            for target in getattr(node, "targets", None) or [node.target]:
                self.bind(target, self.names.value(node.value))

    visit_AnnAssign = visit_NamedExpr = visit_Assign

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.bind(node.target, None)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind(node.target, self.names.iterated(node.iter))
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, self.names.entered(item.context_expr))
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.set(node.name, None)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: Any) -> None:  # also async functions and lambdas
        for part in [*getattr(node, "decorator_list", []), node.args]:
            self.visit(part)
        if not isinstance(node, ast.Lambda):
            self.names.set(node.name, None)
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        body = node.body if isinstance(node.body, list) else [node.body]
        self._in_scope({a.arg: None for a in every if a is not None}, body)

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_ListComp(self, node: Any) -> None:  # the loops first, then the element
        scope: dict[str, Any] = {}
        self.names.scopes.append(scope)
        try:
            for generator in node.generators:
                self.visit(generator.iter)
                self.bind(generator.target, self.names.iterated(generator.iter))
                for condition in generator.ifs:
                    self.visit(condition)
        finally:
            self.names.scopes.pop()
        self._in_scope(scope, [node.key, node.value] if hasattr(node, "key") else [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def _in_scope(self, names: dict[str, Any], body: list[ast.AST]) -> None:
        self.names.scopes.append(names)
        try:
            for statement in body:
                self.visit(statement)
        finally:
            self.names.scopes.pop()

    # Reading os.environ (setting or deleting a variable is not reading one).

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        found = self.names.lookup(node.id)
        if found in ENVIRONS:
            self.flag(SECRETS, f"{node.id} reads environment variables, where API keys live", node)
        self._taken(node, found)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.names.value(node.value) == SHELL_OBJECT and node.attr in rules.SHELL_READING:
            reason = f"get_ipython().{node.attr} changes how IPython reads or runs later cells"
            self.flag(DYNAMIC, reason, node)
        found = self.names.value(node) if isinstance(node.ctx, ast.Load) else None
        if found in ENVIRONS:
            reason = f"{found.name} reads environment variables, where API keys live"
            self.flag(SECRETS, reason, node)
            return
        if not self._taken(node, found):
            self.generic_visit(node)

    def _taken(self, node: ast.AST, found: Any) -> bool:
        """Flag a risky function taken as a value, not called here (``ops = [os.remove]``):
        wherever it is stored, it can be called later."""
        rule = None if id(node) in self.called else escaping_rule(found)
        if rule is None:
            return False
        name = function_name(found)
        label = short(ast.unparse(node))
        label = name if label == name else f"{label} ({name})"
        reason = f"{label}, which {rule.effect}, is taken as a value that can be called later"
        self.flag(rule.category, reason, node)
        return True

    def visit_Subscript(self, node: ast.Subscript) -> None:
        environ = self.names.value(node.value)
        if environ not in ENVIRONS:
            self.generic_visit(node)
            return
        if isinstance(node.ctx, ast.Load):
            label = short(f"{environ.name}[{ast.unparse(node.slice)}]")
            self.flag(SECRETS, f"{label} reads an environment variable", node)
        self.visit(node.slice)

    # Calls.

    def visit_Call(self, node: ast.Call) -> None:
        inner = node.func
        self.called.add(id(inner))
        while isinstance(inner, ast.Attribute) and inner.attr in SAME_FUNCTION:
            inner = inner.value  # os.system.__call__(...) calls os.system
            self.called.add(id(inner))
        self.called.update(id(part) for part in [*node.args, *(k.value for k in node.keywords)])
        callee = self.names.callee(node.func)
        if (callee.name or "").startswith("os.environ."):  # flag the method, not os.environ
            for part in [*node.args, *node.keywords]:
                self.visit(part)
        else:
            self.generic_visit(node)
        self.calls.check(node, callee)
