"""The Python half of the risk review: which calls in a parsed cell are risky, and on what.

Why a module of its own: :mod:`jupyter_agents.risk` deals with IPython (magics, ``!cmd``),
shell command lines and paths on disk; this module reads plain Python, where the hard part is
knowing what a name means. ``o.remove(p)`` is ``os.remove`` after ``import os as o``,
``p.unlink()`` deletes ``notes.txt`` after ``p = Path("notes.txt")``, and ``rm(x)`` is
``shutil.rmtree`` if an earlier cell bound ``rm`` so. :class:`CallFinder` walks the AST once in
source order, keeps track of such bindings, looks each call up in :mod:`.risk_rules` and hands
what it finds (flags, paths written, shell text, code given to ``exec``) back to the review.

Tracking is deliberately shallow: one binding per name per scope, the last one seen wins,
branches and loops are not told apart, values are not followed into functions. docs/risk.md
says what that misses.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import tempfile
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from . import risk_rules as rules
from .risk_rules import DELETE, DYNAMIC, NETWORK, PROCESSES, SECRETS, SHELL, Category

UNKNOWN = "{?}"  # a part of a path, command or code that is only known at run time
_OS_ARGV = re.compile(r"os\.(?:exec|(?P<spawn>spawn)|posix_spawn)(?P<form>[lv]?)p?(?P<e>e?)")
MISSING = object()


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def namespace_get(namespace: Mapping[str, Any], name: str) -> Any:
    """``namespace[name]``, or MISSING; odd mappings that raise count as "not there"."""
    try:
        return namespace[name] if name in namespace else MISSING
    except Exception:
        return MISSING


@dataclass(frozen=True)
class _Ref:
    """A module, function or class, by the dotted name the rules use (``os.remove``)."""

    name: str


@dataclass(frozen=True)
class _Text:
    """A ``str`` or ``Path`` whose unknown parts read ``{?}``.

    ``temp``: the folder tempfile made here (``/tmp/{?}``) when the path is in it, else "".
    """

    text: str
    is_path: bool = False
    temp: str = ""


@dataclass(frozen=True)
class _Object:
    """An object whose methods the rules name: "shell", "kernel", "requests.Session" ..."""

    kind: str


@dataclass(frozen=True)
class _Bound:
    """A method of a followed object or path, taken without calling it (``f = p.unlink``)."""

    receiver: Any
    attr: str


@dataclass(frozen=True)
class _Callee:
    """What a call calls: its dotted name for the rules, its last name, its followed receiver."""

    name: str | None
    attr: str | None
    receiver: Any = None


_ENVIRON = _Ref("os.environ")
_ENVIRONS = {_ENVIRON, _Ref("os.environb")}  # os.environb: the same variables, as bytes
_TEMP_OBJECTS = {_Object("tempfile.NamedTemporaryFile"), _Object("tempfile.TemporaryDirectory")}
_SHELL = _Object("shell")
_PATH_MAKERS = set(
    "pathlib.Path os.path.join os.fspath str os.path.abspath os.path.expanduser "
    "os.path.normpath os.path.realpath".split()
)
#: Categories whose functions are flagged when they are taken as a value (stored, passed on)
#: even where a ``*`` pattern names them: ``subprocess.run``, ``os.spawnl``, ``os.execv``.
_ESCAPING = {SHELL, PROCESSES, DELETE, DYNAMIC}
_SAME_FUNCTION = {part[1:] for part in rules.SAME_FUNCTION}
#: What iterating over a followed value yields.
_ITEMS = {
    _Object("paths"): _Text(UNKNOWN, True),
    _Object("psutil.process_iter"): _Object("psutil.Process"),
}
#: Checks that review the text they are given (a command, code, a magic) themselves.
_READS_ITS_TEXT = {"command", "exec", "code", "magic"}
#: Checks whose string arguments are paths: a credential file among them is flagged.
_READS_PATHS = {
    "delete", "write", "create", "link", "open", "osopen", "copy", "move", "extract",
    "archive", "chdir",
}  # fmt: skip
#: os.open flags that write, and those that leave what is in the file.
_OS_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_OS_KEEP_FLAGS = os.O_APPEND | os.O_EXCL
#: The archive formats of shutil.make_archive and the file names they add.
_ARCHIVE_SUFFIXES = {
    "zip": ".zip", "tar": ".tar", "gztar": ".tar.gz", "bztar": ".tar.bz2", "xztar": ".tar.xz",
}  # fmt: skip


class CallFinder(ast.NodeVisitor):
    """Walks one parsed cell and reports its risky calls to ``review`` (a ``risk._Review``)."""

    def __init__(self, review: Any, line_of: Callable[[int], int]):
        self.review, self.line_of = review, line_of
        self.scopes: list[dict[str, Any]] = [{}]
        self.star_modules: list[str] = []
        self.called: set[int] = set()  # nodes called or handed to a call, not stored away
        self.visits = 0

    def visit(self, node: ast.AST) -> Any:
        self.visits += 1
        if not self.visits % 256:  # the review is bounded in time (risk_reading.Reading)
            self.review.reading.check_time()
        return super().visit(node)

    def flag(self, category: Category, reason: str, node: ast.AST) -> None:
        self.review.add(category, reason, self.line(node))

    def line(self, node: ast.AST) -> int:
        return self.line_of(getattr(node, "lineno", 1))

    # What names and expressions are.

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        found = namespace_get(self.review.namespace, name)
        if found is not MISSING:
            described = _describe(found)
            return _Ref(name) if described == _Ref("exit") else described  # exit or quit
        for module in reversed(self.star_modules):  # from os import *
            if rules.call_rule(f"{module}.{name}"):
                return _Ref(f"{module}.{name}")
        return _Ref(rules.USUAL_NAMES.get(name, name))  # a builtin, or a usual import

    def bind(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.scopes[-1][target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
            for element in ast.iter_child_nodes(target):
                self.bind(element, None)
        else:  # x.attr = ..., x[i] = ...
            self.visit(target)

    def value(self, node: ast.AST | None) -> Any:
        """What an expression is known to be (_Ref, _Text, _Object), or None."""
        if isinstance(node, ast.Constant):
            return _Text(node.value) if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.value(node.value)
            if isinstance(owner, _Ref):
                return _Ref(rules.normal(f"{owner.name}.{node.attr}"))
            if isinstance(owner, _Object) and (owner.kind, node.attr) in rules.ATTRIBUTES:
                return _Object(rules.ATTRIBUTES[owner.kind, node.attr])  # get_ipython().kernel
            if owner in _TEMP_OBJECTS and node.attr == "name":  # NamedTemporaryFile().name
                return _temp_path()
            return _bound(owner, node.attr)  # r = get_ipython().system; w = p.write_text
        if isinstance(node, ast.Subscript):
            return self._item(node)
        if isinstance(node, ast.Call):
            return self._result(node, self.callee(node.func))
        if isinstance(node, ast.JoinedStr):  # f"{folder}/out.csv"
            parts = [self._fstring_part(part) for part in node.values]
            texts = [p.text if isinstance(p, _Text) else UNKNOWN for p in parts]
            return _beyond(parts[0] if parts else None, "".join(texts))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Div) and _Text in {type(left), type(right)}:
                if any(isinstance(side, _Text) and side.is_path for side in (left, right)):
                    return _join([left, right], True)  # Path("data") / name
            elif isinstance(node.op, ast.Add) and isinstance(left, _Text):
                right_text = right.text if isinstance(right, _Text) else UNKNOWN
                return _beyond(left, left.text + right_text)  # tmp + "/../x"
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value)
        return None

    def _item(self, node: ast.Subscript) -> Any:
        """``vars(os)["system"]``, ``os.__dict__["system"]``, ``sys.modules["os"]``,
        ``globals()["name"]``: a name picked by a literal is the name."""
        key = self.value(node.slice)
        if not isinstance(key, _Text) or UNKNOWN in key.text:
            return None
        holder, owner = node.value, None
        if isinstance(holder, ast.Attribute) and holder.attr == "__dict__":
            owner = self.value(holder.value)
        elif isinstance(holder, ast.Call) and len(holder.args) == 1:
            function = self.callee(holder.func).name
            if function == "vars":
                owner = self.value(holder.args[0])
        elif isinstance(holder, ast.Call) and self.callee(holder.func).name in {
            "globals",
            "locals",
        }:
            return self.lookup(key.text)
        if self.value(holder) == _Ref("sys.modules"):
            return _Ref(rules.normal(key.text))
        if isinstance(owner, _Ref):
            return _Ref(rules.normal(f"{owner.name}.{key.text}"))
        return _bound(owner, key.text)

    def _fstring_part(self, node: ast.AST) -> Any:
        if isinstance(node, ast.FormattedValue):  # {x!r} and {x:>5} change the text: unknown
            return None if node.conversion != -1 or node.format_spec else self.value(node.value)
        return self.value(node)

    def _result(self, node: ast.Call, callee: _Callee) -> Any:
        """What a call returns, where that matters: paths, modules, followed objects."""
        name, args = callee.name, [self.value(a) for a in node.args[:3]]
        texts = [a.text if isinstance(a, _Text) and UNKNOWN not in a.text else None for a in args]
        if isinstance(callee.receiver, _Text):  # a method of a path
            if callee.attr in {"glob", "rglob", "iterdir"}:
                return _Object("paths")
            if callee.attr == "joinpath":
                return _join([callee.receiver, *args], True)
            return callee.receiver if callee.attr in {"resolve", "absolute", "expanduser"} else None
        if name in _PATH_MAKERS:
            return _join(args, name == "pathlib.Path") if args else _Text(".", True)
        if name in {"pathlib.Path.home", "pathlib.Path.cwd", "os.getcwd"}:
            return _Text("~" if name.endswith("home") else ".", name != "os.getcwd")
        if name == "tempfile.gettempdir":  # the shared folder itself, not one made for us
            return _Text(_shared_temp_folder())
        if name == "tempfile.mkdtemp":
            return _temp_path(self.value(_keyword(node, "dir")))
        if name in {"__import__", "importlib.import_module"}:
            return _Ref(texts[0]) if texts[:1] not in ([], [None]) else None
        if name == "getattr" and len(args) > 1 and isinstance(args[0], _Ref) and texts[1]:
            return _Ref(rules.normal(f"{args[0].name}.{texts[1]}"))  # getattr(os, "remove")
        if name == "getattr" and len(args) > 1 and texts[1]:  # getattr(get_ipython(), "system")
            return _bound(args[0], texts[1])
        if name in {"functools.partial", "operator.call"} and args:  # calls what it wraps
            return args[0] if isinstance(args[0], (_Ref, _Bound)) else None
        if name and name.rpartition(".")[2] == "get_ipython":  # in a kernel: a bound method
            return _SHELL
        if name in rules.RETURNS:  # tarfile.open(p) is a TarFile
            return _Object(rules.RETURNS[name])
        if name and (name in rules.CONSTRUCTORS or name.startswith("tempfile.")):
            return _Object(name)
        return None

    def callee(self, func: ast.AST) -> _Callee:
        if isinstance(func, ast.Attribute):
            owner = self.value(func.value)
            if isinstance(owner, _Bound) and func.attr in _SAME_FUNCTION:
                return self._bound_callee(owner)  # w.__call__("x") after w = p.write_text
            if isinstance(owner, _Ref):
                return _Callee(rules.normal(f"{owner.name}.{func.attr}"), func.attr)
            if isinstance(owner, _Text) and owner.is_path:
                return _Callee(f"pathlib.Path.{func.attr}", func.attr, owner)
            if isinstance(owner, _Object):
                return _Callee(f"{owner.kind}.{func.attr}", func.attr, owner)
            return _Callee(None, func.attr)
        found = self.value(func)  # a name, or getattr(os, "remove")(...)
        if isinstance(found, _Bound):  # w = p.write_text; w("x")
            return self._bound_callee(found)
        name = found.name if isinstance(found, _Ref) else None
        return _Callee(name, name.rpartition(".")[2] if name else getattr(func, "id", None))

    def _bound_callee(self, bound: _Bound) -> _Callee:
        receiver = bound.receiver
        kind = "pathlib.Path" if isinstance(receiver, _Text) else receiver.kind
        return _Callee(f"{kind}.{bound.attr}", bound.attr, receiver)

    def escaping_rule(self, found: Any) -> rules.CallRule | None:
        """The rule of a function taken as a value (stored, or handed to another call)."""
        if isinstance(found, _Bound):
            found = _Ref(self._bound_callee(found).name or "")
        if not isinstance(found, _Ref):
            return None
        if found.name in rules.CALLS:
            return rules.CALLS[found.name]
        rule, last = rules.call_rule(found.name), found.name.rpartition(".")[2]
        function_like = last[:1].islower() and not last.startswith("_")  # not PIPE, SIGINT
        return rule if rule and rule.category in _ESCAPING and function_like else None

    def command_text(self, node: ast.AST | None) -> str | None:
        """The text of a command line or a list of words; unknown parts read ``{?}``."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return " ".join(shlex.quote(self.command_text(e) or UNKNOWN) for e in node.elts)
        found = self.value(node)
        if found == _Ref("sys.executable"):
            return "python"
        return found.text if isinstance(found, _Text) else None

    # Statements that bind names.

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            self.scopes[-1][name] = _Ref(rules.normal(alias.name if alias.asname else name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":  # the kernel keeps the flag: later cells parse otherwise
            names = ", ".join(alias.name for alias in node.names)
            reason = f"from __future__ import {names} changes how Python reads later cells"
            self.flag(DYNAMIC, reason, node)
        for alias in node.names:
            if alias.name == "*" and node.module and not node.level:
                self.star_modules.append(node.module)
            elif node.module and not node.level:
                full = _Ref(rules.normal(f"{node.module}.{alias.name}"))
                self.scopes[-1][alias.asname or alias.name] = full
            else:
                self.scopes[-1][alias.asname or alias.name] = None

    def visit_Assign(self, node: Any) -> None:  # also AnnAssign and NamedExpr (walrus)
        if node.value is not None:
            self.visit(node.value)
            for target in getattr(node, "targets", None) or [node.target]:
                self.bind(target, self.value(node.value))

    visit_AnnAssign = visit_NamedExpr = visit_Assign

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.bind(node.target, None)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.bind(node.target, _ITEMS.get(self.value(node.iter)))
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                entered = self.value(item.context_expr)
                if entered == _Object("tempfile.TemporaryDirectory"):
                    where = item.context_expr
                    folder = _keyword(where, "dir") if isinstance(where, ast.Call) else None
                    entered = _temp_path(self.value(folder))
                self.bind(item.optional_vars, entered)
        for statement in node.body:
            self.visit(statement)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.scopes[-1][node.name] = None
        self.generic_visit(node)

    def visit_FunctionDef(self, node: Any) -> None:  # also async functions and lambdas
        for part in [*getattr(node, "decorator_list", []), node.args]:
            self.visit(part)
        if not isinstance(node, ast.Lambda):
            self.scopes[-1][node.name] = None
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        body = node.body if isinstance(node.body, list) else [node.body]
        self._in_scope({a.arg: None for a in every if a is not None}, body)

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_ListComp(self, node: Any) -> None:  # the loops first, then the element
        scope: dict[str, Any] = {}
        self.scopes.append(scope)
        try:
            for generator in node.generators:
                self.visit(generator.iter)
                self.bind(generator.target, _ITEMS.get(self.value(generator.iter)))
                for condition in generator.ifs:
                    self.visit(condition)
        finally:
            self.scopes.pop()
        self._in_scope(scope, [node.key, node.value] if hasattr(node, "key") else [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def _in_scope(self, names: dict[str, Any], body: list[ast.AST]) -> None:
        self.scopes.append(names)
        try:
            for statement in body:
                self.visit(statement)
        finally:
            self.scopes.pop()

    # Reading os.environ (setting or deleting a variable is not reading one).

    def visit_Name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        found = self.lookup(node.id)
        if found in _ENVIRONS:
            self.flag(SECRETS, f"{node.id} reads environment variables, where API keys live", node)
        self._taken(node, found)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.value(node.value) == _SHELL and node.attr in rules.SHELL_READING:
            reason = f"get_ipython().{node.attr} changes how IPython reads or runs later cells"
            self.flag(DYNAMIC, reason, node)
        found = self.value(node) if isinstance(node.ctx, ast.Load) else None
        if found in _ENVIRONS:
            reason = f"{found.name} reads environment variables, where API keys live"
            self.flag(SECRETS, reason, node)
            return
        if not self._taken(node, found):
            self.generic_visit(node)

    def _taken(self, node: ast.AST, found: Any) -> bool:
        """Flag a risky function taken as a value, not called here (``ops = [os.remove]``):
        wherever it is stored, it can be called later."""
        rule = None if id(node) in self.called else self.escaping_rule(found)
        if rule is None:
            return False
        name = found.name if isinstance(found, _Ref) else self._bound_callee(found).name
        label = short(ast.unparse(node))
        label = name if label == name else f"{label} ({name})"
        reason = f"{label}, which {rule.effect}, is taken as a value that can be called later"
        self.flag(rule.category, reason, node)
        return True

    def visit_Subscript(self, node: ast.Subscript) -> None:
        environ = self.value(node.value)
        if environ not in _ENVIRONS:
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
        while isinstance(inner, ast.Attribute) and inner.attr in _SAME_FUNCTION:
            inner = inner.value  # os.system.__call__(...) calls os.system
            self.called.add(id(inner))
        self.called.update(id(part) for part in [*node.args, *(k.value for k in node.keywords)])
        callee = self.callee(node.func)
        name = callee.name or ""
        if name.startswith("os.environ."):  # flag the method, not also os.environ
            for part in [*node.args, *node.keywords]:
                self.visit(part)
        else:
            self.generic_visit(node)
        rule = rules.call_rule(name) if name else None
        if rule is None and isinstance(node.func, ast.Attribute):  # p.unlink(), p unknown
            rule = rules.METHODS.get(node.func.attr)
        label = self._label(node, callee)  # lazily: most calls are never flagged
        line = self.line(node)
        paths: list[Any] = []  # the arguments used as paths: are they credential files?
        if rule is not None:
            getattr(self, f"_check_{rule.check}")(node, label, rule, callee)
        elif callee.attr in rules.WRITERS:  # df.to_csv("out.csv"), np.save(...), json.dump
            function = callee.name is not None and callee.receiver is None  # not arr.dump(f)
            target = self._path_argument(node, rules.writer_file_index(name, function))
            if target is not None and not target.temp:
                self.review.write(target.text, label, line)
            paths = [target]
        elif rules.READER_NAME.match(callee.attr or ""):  # pd.read_csv("https://...")
            target = self._path_argument(node)
            if target is not None and rules.URL.match(target.text):
                self.flag(NETWORK, f"{label} downloads data from the internet", node)
            paths = [target]
        on_path = isinstance(callee.receiver, _Text)  # a path's method: its arguments are not
        if not on_path and (rule and rule.check in _READS_PATHS or rules.takes_paths(name)):
            paths = [self.value(part) for part in [*node.args, *(k.value for k in node.keywords)]]
        if on_path and not rules.only_looks(name):
            paths.append(callee.receiver)  # Path("~/.netrc").read_text()
        if on_path and rule and rule.check in {"move", "copy"}:
            paths.extend(self.value(part) for part in node.args[:1])  # p.rename(target)
        for found in paths:  # open(expanduser("~/.netrc"))
            if isinstance(found, _Text):
                self.review.credentials(found.text, label, line)
        for part in [*node.args, *(k.value for k in node.keywords)]:  # map(os.remove, files)
            found = self.value(part)
            passed = self.escaping_rule(found)  # partial(os.system, c), map(os.remove, files)
            if passed is not None:
                what = found.name if isinstance(found, _Ref) else self._bound_callee(found).name
                outer = f"{name or callee.attr}()" if name or callee.attr else "another call"
                self.flag(
                    passed.category, f"passes {what}, which {passed.effect}, to {outer}", node
                )
        if name == "setattr" and node.args and self.value(node.args[0]) == _SHELL:
            reason = f"{label} changes how IPython reads or runs later cells"
            self.flag(DYNAMIC, reason, node)

    def _label(self, node: ast.Call, callee: _Callee) -> _Label:
        return _Label(lambda: self._label_text(node, callee))

    def _label_text(self, node: ast.Call, callee: _Callee) -> str:
        """The call as a reader knows it: ``shutil.rmtree('data')``, even when aliased."""
        try:
            if callee.name and callee.receiver is None:
                args = [ast.unparse(a) for a in node.args]
                for k in node.keywords:
                    args.append((f"{k.arg}=" if k.arg else "**") + ast.unparse(k.value))
                return short(f"{callee.name}({', '.join(args)})")
            return short(ast.unparse(node))
        except Exception:  # very deep expressions
            return f"{callee.attr or 'a call'}(...)"

    def _operands(self, node: ast.Call, callee: _Callee) -> tuple[Any, list[ast.AST]]:
        """The path a call acts on (its receiver, or first argument) and the other arguments."""
        if isinstance(callee.receiver, _Text):
            return callee.receiver, list(node.args)
        if node.args:
            return self.value(node.args[0]), list(node.args[1:])
        return self.value(_keyword(node, "path", "src", "file", "name", "args", "source")), []

    def _path_argument(self, node: ast.Call, index: int = 0) -> _Text | None:
        """The file a reader or writer takes: its ``index``-th argument, or a path keyword."""
        if len(node.args) > index:
            found = self.value(node.args[index])
        else:
            found = self.value(_keyword(node, *rules.PATH_KEYWORDS))
        return found if isinstance(found, _Text) else None

    # How each kind of rule (rules.CallRule.check) reads its call.

    def _check_plain(self, node: ast.Call, label: str, rule: rules.CallRule, callee: _Callee):
        self.flag(rule.category, f"{label} {rule.effect}", node)

    def _check_delete(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, _Text) and subject.temp:
            return  # cleaning up a temporary folder this cell made
        text = subject.text if isinstance(subject, _Text) else None
        where = f" ({text!r})" if text and text not in label and UNKNOWN not in text else ""
        self.flag(DELETE, f"{label} {rule.effect}{where}", node)
        if text:
            self.review.write(text, label, self.line(node), "deletes", replaces=False)

    def _check_write(self, node, label, rule, callee, replaces=True, verb="writes to") -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, _Text) and not subject.temp:
            self.review.write(subject.text, label, self.line(node), verb, replaces)

    def _check_create(self, node, label, rule, callee) -> None:
        self._check_write(node, label, rule, callee, replaces=False, verb="creates")

    def _check_link(self, node, label, rule, callee) -> None:  # os.symlink(src, dst)
        made = self.value(node.args[1] if len(node.args) > 1 else _keyword(node, "dst"))
        if isinstance(made, _Text) and not made.temp:
            self.review.write(made.text, label, self.line(node), "creates", replaces=False)

    def _check_chdir(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        text = subject.text if isinstance(subject, _Text) else None
        self.review.chdir(text, label, self.line(node))

    def _check_osopen(self, node, label, rule, callee) -> None:  # os.open(p, os.O_WRONLY)
        _, rest = self._operands(node, callee)
        flags = self._int_flags(rest[0] if rest else _keyword(node, "flags"))
        if flags is None:  # like open(p, mode) with a mode known only at run time
            self._check_write(node, label, rule, callee)
        elif flags & _OS_WRITE_FLAGS:  # O_TRUNC empties the file, O_WRONLY/O_RDWR edit it
            edits = flags & (os.O_WRONLY | os.O_RDWR) and not flags & _OS_KEEP_FLAGS
            self._check_write(node, label, rule, callee, bool(flags & os.O_TRUNC or edits))

    def _int_flags(self, node: ast.AST | None) -> int | None:
        """The value of ``os.O_WRONLY | os.O_TRUNC`` and the like, or None if not known."""
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.Add)):
            left, right = self._int_flags(node.left), self._int_flags(node.right)
            return None if left is None or right is None else left | right
        found = self.value(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if isinstance(found, _Ref) and found.name.startswith("os.O_"):
            value = getattr(os, found.name[3:], None)
            return value if type(value) is int else None
        return None

    def _check_extract(self, node, label, rule, callee) -> None:
        index = 0 if callee.attr == "extractall" else 1  # extract(member, path)
        at = node.args[index] if len(node.args) > index else _keyword(node, "path", "extract_dir")
        folder = self.value(at) if at is not None else _Text(".")
        if isinstance(folder, _Text) and not folder.temp:
            self.review.extract(folder.text or ".", label, self.line(node))

    def _check_archive(self, node, label, rule, callee) -> None:  # shutil.make_archive
        base = self.value(node.args[0] if node.args else _keyword(node, "base_name"))
        kind = self.value(node.args[1] if len(node.args) > 1 else _keyword(node, "format"))
        suffix = _ARCHIVE_SUFFIXES.get(kind.text, UNKNOWN) if isinstance(kind, _Text) else UNKNOWN
        if isinstance(base, _Text) and not base.temp:
            self.review.write(base.text + suffix, label, self.line(node))

    def _mode(self, node: ast.Call, callee: _Callee) -> str | None:
        """The mode an ``open``-like call opens its file in, None if known only at run time."""
        _, rest = self._operands(node, callee)
        mode_node = rest[0] if rest else _keyword(node, "mode", "flag")
        default = _Text(rules.DEFAULT_MODES.get(callee.name or "", "r"))
        mode = self.value(mode_node) if mode_node is not None else default
        return mode.text if isinstance(mode, _Text) and UNKNOWN not in mode.text else None

    def _check_fdopen(self, node, label, rule, callee) -> None:  # os.fdopen(fd, "w")
        mode = self._mode(node, callee)
        if mode is None or set(mode) & rules.WRITE_MODE_LETTERS:
            self.flag(rule.category, f"{label} {rule.effect}", node)

    def _check_inplace(self, node, label, rule, callee) -> None:  # fileinput.input(f, True)
        given = node.args[1] if len(node.args) > 1 else _keyword(node, "inplace")
        if given is None or (isinstance(given, ast.Constant) and not given.value):
            return
        self.flag(rule.category, f"{label} {rule.effect}", node)
        subject, _ = self._operands(node, callee)
        if isinstance(subject, _Text) and not subject.temp:
            self.review.write(subject.text, label, self.line(node))

    def _check_open(self, node, label, rule, callee) -> None:
        mode = self._mode(node, callee)
        if mode is None or set(mode) & rules.WRITE_MODE_LETTERS:  # not just reading
            replaces = mode is None or "w" in mode or "r" in mode  # r+ edits in place
            self._check_write(node, label, rule, callee, replaces)

    def _check_copy(self, node, label, rule, callee) -> None:
        subject, rest = self._operands(node, callee)
        target = self.value(rest[0] if rest else _keyword(node, "dst", "target"))
        source = subject if isinstance(subject, _Text) and not subject.temp else None
        if isinstance(target, _Text) and not target.temp:
            self.review.write(target.text, label, self.line(node), source=source and source.text)
        if rule.check == "move" and source:  # the file also leaves where it was
            self.review.write(source.text, label, self.line(node), "moves", replaces=False)

    _check_move = _check_copy

    def _check_command(self, node, label, rule, callee) -> None:
        text = self._argv_text(node, callee.name or "")
        if text is None:
            text = self.command_text(node.args[0] if node.args else _keyword(node, "args", "cmd"))
        if text and callee.receiver == _SHELL:
            label = f"!{short(text)}"  # get_ipython().system(...) is what ``!`` becomes
        self.flag(SHELL, f"{label} {rule.effect}", node)
        if text:
            self.review.shell(text, self.line(node))

    def _check_exec(self, node, label, rule, callee) -> None:  # os.execv(...)
        self._check_command(node, label, rule, callee)
        reason = f"{label} replaces the kernel process with that program; every variable is lost"
        self.flag(PROCESSES, reason, node)

    def _argv_text(self, node: ast.Call, name: str) -> str | None:
        """The command line of ``os.exec*``, ``os.spawn*``, ``os.posix_spawn*``, or None.

        They take the program's path, then its argv (a list, or one argument each), whose
        first word is only a name: the path stands in for it.
        """
        match = _OS_ARGV.fullmatch(name)
        if not match or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            return None
        first = 1 if match["spawn"] else 0  # spawn*(mode, path, ...)
        args = node.args[first:]
        if not args:
            return None
        if match["form"] == "l":
            argv = args[2 : len(args) - bool(match["e"])]
        elif len(args) > 1 and isinstance(args[1], (ast.List, ast.Tuple)):
            argv = args[1].elts[1:]
        else:
            argv = [] if len(args) == 1 else [ast.Constant(UNKNOWN)]
        words = [self.command_text(part) or UNKNOWN for part in [args[0], *argv]]
        return " ".join(shlex.quote(word) for word in words)

    def _check_code(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, _Text) and UNKNOWN not in subject.text:
            line = self.line(node)
            self.review.cell(subject.text, lambda n: line)  # exec("...") is reviewed as a cell
        elif node.args or node.keywords:
            reason = f"{label} runs code built at run time, which this review cannot see"
            self.flag(DYNAMIC, reason, node)

    def _check_import(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if not (isinstance(subject, _Text) and UNKNOWN not in subject.text):
            self.flag(DYNAMIC, f"{label} imports a module named only at run time", node)

    def _check_magic(self, node, label, rule, callee) -> None:
        texts = [self.command_text(a) for a in node.args[:3]]
        if callee.attr == "magic" and texts and texts[0] is not None:  # magic("pip install x")
            texts = list(texts[0].lstrip("%").partition(" ")[::2])
        texts += [""] * (3 - len(texts))
        name, arg, body = texts
        if name is None or arg is None or body is None or not name or UNKNOWN in name:
            self.flag(DYNAMIC, f"{label} runs a magic chosen at run time", node)
            return
        line = self.line(node)
        cell_body = body if callee.attr == "run_cell_magic" else None
        self.review.magic(name, arg, cell_body, line, lambda n: line)


class _Label:
    """A call's label, written out only if a flag needs it (``ast.unparse`` is not free)."""

    def __init__(self, make: Callable[[], str]):
        self.make, self.text = make, None

    def __str__(self) -> str:
        if self.text is None:
            self.text = self.make()
        return self.text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __contains__(self, part: str) -> bool:
        return part in str(self)


def _describe(obj: Any) -> Any:
    """What an object from an earlier cell is, read without calling into it."""
    try:
        if isinstance(obj, types.ModuleType):
            return _Ref(rules.normal(obj.__name__))
        if obj is os.environ:
            return _ENVIRON
        if obj is getattr(os, "environb", None):
            return _Ref("os.environb")
        if isinstance(obj, functools.partial):  # partial(os.system, "...") calls os.system
            return _describe(obj.func)
        if isinstance(obj, types.MethodType):  # a method of an object, taken in an earlier cell
            bound = _bound(_describe(obj.__self__), obj.__name__)
            if bound is not None:
                return bound
        if isinstance(obj, (str, PurePath)):
            return _Text(os.fspath(obj)[:4096], isinstance(obj, PurePath))
        kind = type(obj)
        bases = {base.__name__ for base in kind.__mro__}  # IPython's classes, not imported
        if "ExitAutocall" in bases:  # ipykernel's is a subclass, ZMQExitAutocall
            return _Ref("exit")
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return _Ref(rules.normal(f"{obj.__module__}.{obj.__qualname__}"))
        if "InteractiveShell" in bases:
            return _SHELL
        return _Object(rules.normal(f"{kind.__module__}.{kind.__qualname__}"))
    except Exception:  # a property that raises, an odd module: unknown
        return None


def _bound(owner: Any, attr: str) -> _Bound | None:
    """``owner.attr`` as a method the review can name, when ``owner`` is followed."""
    if isinstance(owner, _Bound) and attr in _SAME_FUNCTION:
        return owner
    if isinstance(owner, _Object) or (isinstance(owner, _Text) and owner.is_path):
        return _Bound(owner, attr)
    return None


def _join(parts: list[Any], is_path: bool) -> _Text:
    texts = [p.text if isinstance(p, _Text) else UNKNOWN for p in parts]
    return _beyond(parts[0], os.path.join(*texts), is_path)


def _beyond(base: Any, text: str, is_path: bool | None = None) -> _Text:
    """``text``, a path that starts with ``base``. It keeps the mark of a temporary folder
    only while it stays in that folder; when it leaves (``..``), the folder's name goes."""
    is_path = isinstance(base, _Text) and base.is_path if is_path is None else is_path
    root = base.temp if isinstance(base, _Text) else ""
    if not root or not text.startswith(root):
        return _Text(text, is_path)  # os.path.join(tmp, "/etc") is "/etc"
    rest = text[len(root) :].replace("\\", "/")
    if rest and not rest.startswith("/"):
        return _Text(text, is_path)  # tmp + "_old" is another folder
    if ".." not in rest.split("/"):  # a part known only at run time is taken to stay in
        return _Text(text, is_path, root)
    marker = "\0temp\0"  # tempfile's name for the folder: one part, whatever it is
    folder = os.path.normpath(root[: -len(UNKNOWN)] + marker)
    path = os.path.normpath(folder + rest)
    if path == folder or path.startswith(folder + os.sep):  # tmp/a/../b is still in tmp
        return _Text(text, is_path, root)
    return _Text(path.replace(marker, UNKNOWN), is_path)


def _temp_path(folder: Any = None) -> _Text:
    """A file or folder that tempfile makes for this cell alone, in ``folder`` or the shared
    temp folder: ``{?}`` there. Its mark goes when a path leaves it (``..``), so that
    ``os.path.join(tempfile.mkdtemp(), "..", "..")`` is judged as the path it is."""
    base = folder.text if isinstance(folder, _Text) else _shared_temp_folder()
    path = os.path.join(base, UNKNOWN)
    return _Text(path, temp=path)


@functools.lru_cache(maxsize=1)
def _shared_temp_folder() -> str:
    return os.path.realpath(tempfile.gettempdir())


def _keyword(node: ast.Call, *names: str) -> ast.AST | None:
    return next((k.value for k in node.keywords if k.arg in names), None)
