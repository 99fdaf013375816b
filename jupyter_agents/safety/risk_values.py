"""What an expression in a cell is known to be, for the risk review: a function, a path, an object.

Why a module of its own: the hard part of reading Python for risk is knowing what a name means.
``o.remove(p)`` is ``os.remove`` after ``import os as o``, ``p.unlink()`` deletes ``notes.txt``
after ``p = Path("notes.txt")``, and ``rm(x)`` is ``shutil.rmtree`` if an earlier cell bound
``rm`` so. :class:`Resolver` answers that question for one expression, from the bindings the
walk (:mod:`.risk_python`) has seen so far and the namespace of earlier cells; it flags nothing.

Tracking is deliberately shallow: one binding per name per scope, the last one seen wins,
branches and loops are not told apart, values are not followed into functions. docs/risk.md
says what that misses.
"""

from __future__ import annotations

import ast
import functools
import os
import shlex
import tempfile
import types
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ..text.clipping import squeezed
from . import risk_rules as rules

UNKNOWN = "{?}"  # a part of a path, command or code that is only known at run time
MISSING = object()


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to the flag labels' ``limit`` characters."""
    return squeezed(text, limit)


def namespace_get(namespace: Mapping[str, Any], name: str) -> Any:
    """``namespace[name]``, or MISSING; odd mappings that raise count as "not there"."""
    try:
        return namespace[name] if name in namespace else MISSING
    except Exception:
        return MISSING


@dataclass(frozen=True)
class Ref:
    """A module, function or class, by the dotted name the rules use (``os.remove``)."""

    name: str


@dataclass(frozen=True)
class Text:
    """A ``str`` or ``Path`` whose unknown parts read ``{?}``.

    ``temp``: the folder tempfile made here (``/tmp/{?}``) when the path is in it, else "".
    """

    text: str
    is_path: bool = False
    temp: str = ""


@dataclass(frozen=True)
class Object:
    """An object whose methods the rules name: "shell", "kernel", "requests.Session" ..."""

    kind: str


@dataclass(frozen=True)
class Bound:
    """A method of a followed object or path, taken without calling it (``f = p.unlink``)."""

    receiver: Any
    attr: str


@dataclass(frozen=True)
class Callee:
    """What a call calls: its dotted name for the rules, its last name, its followed receiver."""

    name: str | None
    attr: str | None
    receiver: Any = None


_ENVIRON = Ref("os.environ")
ENVIRONS = {_ENVIRON, Ref("os.environb")}  # os.environb: the same variables, as bytes
SHELL_OBJECT = Object("shell")  # get_ipython()
_TEMP_OBJECTS = {Object("tempfile.NamedTemporaryFile"), Object("tempfile.TemporaryDirectory")}
_PATH_MAKERS = set(
    "pathlib.Path os.path.join os.fspath str os.path.abspath os.path.expanduser "
    "os.path.normpath os.path.realpath".split()
)
#: Attributes that are the function itself, called another way (``f.__call__``).
SAME_FUNCTION = {part[1:] for part in rules.SAME_FUNCTION}
#: What iterating over a followed value yields.
_ITEMS = {
    Object("paths"): Text(UNKNOWN, True),
    Object("psutil.process_iter"): Object("psutil.Process"),
}


class Resolver:
    """What names and expressions of one cell are, as far as a reader can tell.

    ``scopes`` holds the cell's own bindings (the walk adds them, innermost last); names it
    does not bind are looked up in ``namespace``, the user's namespace of earlier cells.
    """

    def __init__(self, namespace: Mapping[str, Any]):
        self.namespace = namespace
        self.scopes: list[dict[str, Any]] = [{}]
        self.star_modules: list[str] = []  # from os import *

    def set(self, name: str, value: Any) -> None:
        """Bind ``name`` in the innermost scope (None: bound to something not followed)."""
        self.scopes[-1][name] = value

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        found = namespace_get(self.namespace, name)
        if found is not MISSING:
            described = describe(found)
            return Ref(name) if described == Ref("exit") else described  # exit or quit
        for module in reversed(self.star_modules):  # from os import *
            if rules.call_rule(f"{module}.{name}"):
                return Ref(f"{module}.{name}")
        return Ref(rules.USUAL_NAMES.get(name, name))  # a builtin, or a usual import

    def value(self, node: ast.AST | None) -> Any:
        """What an expression is known to be (Ref, Text, Object, Bound), or None."""
        if isinstance(node, ast.Constant):
            return Text(node.value) if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            return self._item(node)
        if isinstance(node, ast.Call):
            return self._result(node, self.callee(node.func))
        if isinstance(node, ast.JoinedStr):  # f"{folder}/out.csv"
            parts = [self._fstring_part(part) for part in node.values]
            texts = [p.text if isinstance(p, Text) else UNKNOWN for p in parts]
            return _beyond(parts[0] if parts else None, "".join(texts))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.Add)):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Div) and Text in {type(left), type(right)}:
                if any(isinstance(side, Text) and side.is_path for side in (left, right)):
                    return _join([left, right], True)  # Path("data") / name
            elif isinstance(node.op, ast.Add) and isinstance(left, Text):
                right_text = right.text if isinstance(right, Text) else UNKNOWN
                return _beyond(left, left.text + right_text)  # tmp + "/../x"
        if isinstance(node, ast.NamedExpr):
            return self.value(node.value)
        return None

    def _attribute(self, node: ast.Attribute) -> Any:
        owner = self.value(node.value)
        if isinstance(owner, Ref):
            return Ref(rules.normal(f"{owner.name}.{node.attr}"))
        if isinstance(owner, Object) and (owner.kind, node.attr) in rules.ATTRIBUTES:
            return Object(rules.ATTRIBUTES[owner.kind, node.attr])  # get_ipython().kernel
        if owner in _TEMP_OBJECTS and node.attr == "name":  # NamedTemporaryFile().name
            return _temp_path()
        return bound(owner, node.attr)  # r = get_ipython().system; w = p.write_text

    def _item(self, node: ast.Subscript) -> Any:
        """``vars(os)["system"]``, ``os.__dict__["system"]``, ``sys.modules["os"]``,
        ``globals()["name"]``: a name picked by a literal is the name."""
        key = self.value(node.slice)
        if not isinstance(key, Text) or UNKNOWN in key.text:
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
        if self.value(holder) == Ref("sys.modules"):
            return Ref(rules.normal(key.text))
        if isinstance(owner, Ref):
            return Ref(rules.normal(f"{owner.name}.{key.text}"))
        return bound(owner, key.text)

    def _fstring_part(self, node: ast.AST) -> Any:
        if isinstance(node, ast.FormattedValue):  # {x!r} and {x:>5} change the text: unknown
            return None if node.conversion != -1 or node.format_spec else self.value(node.value)
        return self.value(node)

    def _result(self, node: ast.Call, callee: Callee) -> Any:
        """What a call returns, where that matters: paths, modules, followed objects."""
        name, args = callee.name, [self.value(a) for a in node.args[:3]]
        texts = [a.text if isinstance(a, Text) and UNKNOWN not in a.text else None for a in args]
        if isinstance(callee.receiver, Text):  # a method of a path
            if callee.attr in {"glob", "rglob", "iterdir"}:
                return Object("paths")
            if callee.attr == "joinpath":
                return _join([callee.receiver, *args], True)
            return callee.receiver if callee.attr in {"resolve", "absolute", "expanduser"} else None
        if name in _PATH_MAKERS:
            return _join(args, name == "pathlib.Path") if args else Text(".", True)
        if name in {"pathlib.Path.home", "pathlib.Path.cwd", "os.getcwd"}:
            return Text("~" if name.endswith("home") else ".", name != "os.getcwd")
        if name == "tempfile.gettempdir":  # the shared folder itself, not one made for us
            return Text(_shared_temp_folder())
        if name == "tempfile.mkdtemp":
            return _temp_path(self.value(keyword_value(node, "dir")))
        if name in {"__import__", "importlib.import_module"}:
            return Ref(texts[0]) if texts[:1] not in ([], [None]) else None
        if name == "getattr" and len(args) > 1 and isinstance(args[0], Ref) and texts[1]:
            return Ref(rules.normal(f"{args[0].name}.{texts[1]}"))  # getattr(os, "remove")
        if name == "getattr" and len(args) > 1 and texts[1]:  # getattr(get_ipython(), "system")
            return bound(args[0], texts[1])
        if name in {"functools.partial", "operator.call"} and args:  # calls what it wraps
            return args[0] if isinstance(args[0], (Ref, Bound)) else None
        if name and name.rpartition(".")[2] == "get_ipython":  # in a kernel: a bound method
            return SHELL_OBJECT
        if name in rules.RETURNS:  # tarfile.open(p) is a TarFile
            return Object(rules.RETURNS[name])
        if name and (name in rules.CONSTRUCTORS or name.startswith("tempfile.")):
            return Object(name)
        return None

    def callee(self, func: ast.AST) -> Callee:
        """What calling ``func`` calls."""
        if isinstance(func, ast.Attribute):
            owner = self.value(func.value)
            if isinstance(owner, Bound) and func.attr in SAME_FUNCTION:
                return bound_callee(owner)  # w.__call__("x") after w = p.write_text
            if isinstance(owner, Ref):
                return Callee(rules.normal(f"{owner.name}.{func.attr}"), func.attr)
            if isinstance(owner, Text) and owner.is_path:
                return Callee(f"pathlib.Path.{func.attr}", func.attr, owner)
            if isinstance(owner, Object):
                return Callee(f"{owner.kind}.{func.attr}", func.attr, owner)
            return Callee(None, func.attr)
        found = self.value(func)  # a name, or getattr(os, "remove")(...)
        if isinstance(found, Bound):  # w = p.write_text; w("x")
            return bound_callee(found)
        name = found.name if isinstance(found, Ref) else None
        return Callee(name, name.rpartition(".")[2] if name else getattr(func, "id", None))

    def iterated(self, node: ast.AST) -> Any:
        """What ``for x in node`` binds ``x`` to, when it is followed."""
        return _ITEMS.get(self.value(node))

    def entered(self, node: ast.AST) -> Any:
        """What ``with node as x`` binds ``x`` to: a TemporaryDirectory gives its folder."""
        entered = self.value(node)
        if entered == Object("tempfile.TemporaryDirectory"):
            folder = keyword_value(node, "dir") if isinstance(node, ast.Call) else None
            entered = _temp_path(self.value(folder))
        return entered

    def command_text(self, node: ast.AST | None) -> str | None:
        """The text of a command line or a list of words; unknown parts read ``{?}``."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return " ".join(shlex.quote(self.command_text(e) or UNKNOWN) for e in node.elts)
        found = self.value(node)
        if found == Ref("sys.executable"):
            return "python"
        return found.text if isinstance(found, Text) else None

    def int_flags(self, node: ast.AST | None) -> int | None:
        """The value of ``os.O_WRONLY | os.O_TRUNC`` and the like, or None if not known."""
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.Add)):
            left, right = self.int_flags(node.left), self.int_flags(node.right)
            return None if left is None or right is None else left | right
        found = self.value(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if isinstance(found, Ref) and found.name.startswith("os.O_"):
            value = getattr(os, found.name[3:], None)
            return value if type(value) is int else None
        return None


def describe(obj: Any) -> Any:
    """What an object from an earlier cell is, read without calling into it."""
    try:
        if isinstance(obj, types.ModuleType):
            return Ref(rules.normal(obj.__name__))
        if obj is os.environ:
            return _ENVIRON
        if obj is getattr(os, "environb", None):
            return Ref("os.environb")
        if isinstance(obj, functools.partial):  # partial(os.system, "...") calls os.system
            return describe(obj.func)
        if isinstance(obj, types.MethodType):  # a method of an object, taken in an earlier cell
            method = bound(describe(obj.__self__), obj.__name__)
            if method is not None:
                return method
        if isinstance(obj, (str, PurePath)):
            return Text(os.fspath(obj)[:4096], isinstance(obj, PurePath))
        kind = type(obj)
        bases = {base.__name__ for base in kind.__mro__}  # IPython's classes, not imported
        if "ExitAutocall" in bases:  # ipykernel's is a subclass, ZMQExitAutocall
            return Ref("exit")
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            return Ref(rules.normal(f"{obj.__module__}.{obj.__qualname__}"))
        if "InteractiveShell" in bases:
            return SHELL_OBJECT
        return Object(rules.normal(f"{kind.__module__}.{kind.__qualname__}"))
    except Exception:  # a property that raises, an odd module: unknown
        return None


def bound(owner: Any, attr: str) -> Bound | None:
    """``owner.attr`` as a method the review can name, when ``owner`` is followed."""
    if isinstance(owner, Bound) and attr in SAME_FUNCTION:
        return owner
    if isinstance(owner, Object) or (isinstance(owner, Text) and owner.is_path):
        return Bound(owner, attr)
    return None


def bound_callee(method: Bound) -> Callee:
    """What calling a method taken earlier calls (``w("x")`` after ``w = p.write_text``)."""
    receiver = method.receiver
    kind = "pathlib.Path" if isinstance(receiver, Text) else receiver.kind
    return Callee(f"{kind}.{method.attr}", method.attr, receiver)


def keyword_value(node: ast.Call, *names: str) -> ast.AST | None:
    """The expression a call passes as the first of ``names`` it uses, or None."""
    return next((k.value for k in node.keywords if k.arg in names), None)


def _join(parts: list[Any], is_path: bool) -> Text:
    texts = [p.text if isinstance(p, Text) else UNKNOWN for p in parts]
    return _beyond(parts[0], os.path.join(*texts), is_path)


def _beyond(base: Any, text: str, is_path: bool | None = None) -> Text:
    """``text``, a path that starts with ``base``. It keeps the mark of a temporary folder
    only while it stays in that folder; when it leaves (``..``), the folder's name goes."""
    is_path = isinstance(base, Text) and base.is_path if is_path is None else is_path
    root = base.temp if isinstance(base, Text) else ""
    if not root or not text.startswith(root):
        return Text(text, is_path)  # os.path.join(tmp, "/etc") is "/etc"
    rest = text[len(root) :].replace("\\", "/")
    if rest and not rest.startswith("/"):
        return Text(text, is_path)  # tmp + "_old" is another folder
    if ".." not in rest.split("/"):  # a part known only at run time is taken to stay in
        return Text(text, is_path, root)
    marker = "\0temp\0"  # tempfile's name for the folder: one part, whatever it is
    folder = os.path.normpath(root[: -len(UNKNOWN)] + marker)
    path = os.path.normpath(folder + rest)
    if path == folder or path.startswith(folder + os.sep):  # tmp/a/../b is still in tmp
        return Text(text, is_path, root)
    return Text(path.replace(marker, UNKNOWN), is_path)


def _temp_path(folder: Any = None) -> Text:
    """A file or folder that tempfile makes for this cell alone, in ``folder`` or the shared
    temp folder: ``{?}`` there. Its mark goes when a path leaves it (``..``), so that
    ``os.path.join(tempfile.mkdtemp(), "..", "..")`` is judged as the path it is."""
    base = folder.text if isinstance(folder, Text) else _shared_temp_folder()
    path = os.path.join(base, UNKNOWN)
    return Text(path, temp=path)


@functools.lru_cache(maxsize=1)
def _shared_temp_folder() -> str:
    return os.path.realpath(tempfile.gettempdir())
