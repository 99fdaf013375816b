"""What one call in a cell does, for the risk review: which rule it meets and how it reads.

Why a module of its own: the walk (:mod:`.risk_python`) finds the calls and
:mod:`.risk_values` says what each one calls; this module decides what that call does to the
world. It looks the name up in :mod:`.risk_rules` and reads the arguments the way the rule's
``check`` says (the path a delete or a write acts on, the mode of an ``open``, the command line
of ``subprocess.run``, the code given to ``exec``), then hands what it finds to the review:
flags, paths written, shell text, code to review as a cell.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from collections.abc import Callable
from typing import Any

from ..core.risk_flags import Category
from . import risk_rules as rules
from .risk_rules import DELETE, DYNAMIC, NETWORK, PROCESSES, SHELL
from .risk_values import (
    SHELL_OBJECT,
    UNKNOWN,
    Bound,
    Callee,
    Ref,
    Resolver,
    Text,
    bound_callee,
    keyword_value,
    short,
)

_OS_ARGV = re.compile(r"os\.(?:exec|(?P<spawn>spawn)|posix_spawn)(?P<form>[lv]?)p?(?P<e>e?)")
#: Categories whose functions are flagged when they are taken as a value (stored, passed on)
#: even where a ``*`` pattern names them: ``subprocess.run``, ``os.spawnl``, ``os.execv``.
_ESCAPING = {SHELL, PROCESSES, DELETE, DYNAMIC}
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


def escaping_rule(found: Any) -> rules.CallRule | None:
    """The rule of a function taken as a value (stored, or handed to another call)."""
    if isinstance(found, Bound):
        found = Ref(bound_callee(found).name or "")
    if not isinstance(found, Ref):
        return None
    if found.name in rules.CALLS:
        return rules.CALLS[found.name]
    rule, last = rules.call_rule(found.name), found.name.rpartition(".")[2]
    function_like = last[:1].islower() and not last.startswith("_")  # not PIPE, SIGINT
    return rule if rule and rule.category in _ESCAPING and function_like else None


def function_name(found: Ref | Bound) -> str | None:
    """The dotted name of a function taken as a value."""
    return found.name if isinstance(found, Ref) else bound_callee(found).name


class CallChecks:
    """Reviews the calls of one cell and reports them to ``review`` (a ``risk._Review``)."""

    def __init__(self, review: Any, names: Resolver, line_of: Callable[[int], int]):
        self.review, self.names, self.line_of = review, names, line_of
        self.value = names.value

    def flag(self, category: Category, reason: str, node: ast.AST) -> None:
        self.review.add(category, reason, self.line(node))

    def line(self, node: ast.AST) -> int:
        return self.line_of(getattr(node, "lineno", 1))

    def check(self, node: ast.Call, callee: Callee) -> None:
        """Flag what the call ``node`` (calling ``callee``) does."""
        name = callee.name or ""
        rule = rules.call_rule(name) if name else None
        if rule is None and isinstance(node.func, ast.Attribute):  # p.unlink(), p unknown
            rule = rules.METHODS.get(node.func.attr)
        label = _Label(lambda: _label_text(node, callee))  # lazily: most calls are not flagged
        paths: list[Any] = []  # the arguments used as paths: are they credential files?
        if rule is not None:
            getattr(self, f"_check_{rule.check}")(node, label, rule, callee)
        elif callee.attr in rules.WRITERS:  # df.to_csv("out.csv"), np.save(...), json.dump
            function = callee.name is not None and callee.receiver is None  # not arr.dump(f)
            target = self._path_argument(node, rules.writer_file_index(name, function))
            if target is not None and not target.temp:
                self.review.write(target.text, label, self.line(node))
            paths = [target]
        elif rules.READER_NAME.match(callee.attr or ""):  # pd.read_csv("https://...")
            target = self._path_argument(node)
            if target is not None and rules.URL.match(target.text):
                self.flag(NETWORK, f"{label} downloads data from the internet", node)
            paths = [target]
        self._credentials(node, callee, rule, paths, label)
        self._passed_functions(node, callee)
        if name == "setattr" and node.args and self.value(node.args[0]) == SHELL_OBJECT:
            reason = f"{label} changes how IPython reads or runs later cells"
            self.flag(DYNAMIC, reason, node)

    def _credentials(self, node, callee, rule, paths: list[Any], label) -> None:
        """Flag a credential file among the paths the call uses (``open("~/.netrc")``)."""
        name = callee.name or ""
        on_path = isinstance(callee.receiver, Text)  # a path's method: its arguments are not
        if not on_path and (rule and rule.check in _READS_PATHS or rules.takes_paths(name)):
            paths = [self.value(part) for part in [*node.args, *(k.value for k in node.keywords)]]
        if on_path and not rules.only_looks(name):
            paths.append(callee.receiver)  # Path("~/.netrc").read_text()
        if on_path and rule and rule.check in {"move", "copy"}:
            paths.extend(self.value(part) for part in node.args[:1])  # p.rename(target)
        for found in paths:  # open(expanduser("~/.netrc"))
            if isinstance(found, Text):
                self.review.credentials(found.text, label, self.line(node))

    def _passed_functions(self, node: ast.Call, callee: Callee) -> None:
        """Flag a risky function handed to the call: ``map(os.remove, files)``."""
        name = callee.name or ""
        for part in [*node.args, *(k.value for k in node.keywords)]:
            found = self.value(part)
            passed = escaping_rule(found)  # partial(os.system, c), map(os.remove, files)
            if passed is not None:
                what = function_name(found)
                outer = f"{name or callee.attr}()" if name or callee.attr else "another call"
                self.flag(
                    passed.category, f"passes {what}, which {passed.effect}, to {outer}", node
                )

    def _operands(self, node: ast.Call, callee: Callee) -> tuple[Any, list[ast.AST]]:
        """The path a call acts on (its receiver, or first argument) and the other arguments."""
        if isinstance(callee.receiver, Text):
            return callee.receiver, list(node.args)
        if node.args:
            return self.value(node.args[0]), list(node.args[1:])
        return self.value(keyword_value(node, "path", "src", "file", "name", "args", "source")), []

    def _path_argument(self, node: ast.Call, index: int = 0) -> Text | None:
        """The file a reader or writer takes: its ``index``-th argument, or a path keyword."""
        if len(node.args) > index:
            found = self.value(node.args[index])
        else:
            found = self.value(keyword_value(node, *rules.PATH_KEYWORDS))
        return found if isinstance(found, Text) else None

    # How each kind of rule (rules.CallRule.check) reads its call.

    def _check_plain(self, node: ast.Call, label: str, rule: rules.CallRule, callee: Callee):
        self.flag(rule.category, f"{label} {rule.effect}", node)

    def _check_delete(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, Text) and subject.temp:
            return  # cleaning up a temporary folder this cell made
        text = subject.text if isinstance(subject, Text) else None
        where = f" ({text!r})" if text and text not in label and UNKNOWN not in text else ""
        self.flag(DELETE, f"{label} {rule.effect}{where}", node)
        if text:
            self.review.write(text, label, self.line(node), "deletes", replaces=False)

    def _check_write(self, node, label, rule, callee, replaces=True, verb="writes to") -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, Text) and not subject.temp:
            self.review.write(subject.text, label, self.line(node), verb, replaces)

    def _check_create(self, node, label, rule, callee) -> None:
        self._check_write(node, label, rule, callee, replaces=False, verb="creates")

    def _check_link(self, node, label, rule, callee) -> None:  # os.symlink(src, dst)
        made = self.value(node.args[1] if len(node.args) > 1 else keyword_value(node, "dst"))
        if isinstance(made, Text) and not made.temp:
            self.review.write(made.text, label, self.line(node), "creates", replaces=False)

    def _check_chdir(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        text = subject.text if isinstance(subject, Text) else None
        self.review.chdir(text, label, self.line(node))

    def _check_osopen(self, node, label, rule, callee) -> None:  # os.open(p, os.O_WRONLY)
        _, rest = self._operands(node, callee)
        flags = self.names.int_flags(rest[0] if rest else keyword_value(node, "flags"))
        if flags is None:  # like open(p, mode) with a mode known only at run time
            self._check_write(node, label, rule, callee)
        elif flags & _OS_WRITE_FLAGS:  # O_TRUNC empties the file, O_WRONLY/O_RDWR edit it
            edits = flags & (os.O_WRONLY | os.O_RDWR) and not flags & _OS_KEEP_FLAGS
            self._check_write(node, label, rule, callee, bool(flags & os.O_TRUNC or edits))

    def _check_extract(self, node, label, rule, callee) -> None:
        index = 0 if callee.attr == "extractall" else 1  # extract(member, path)
        if len(node.args) > index:
            at: ast.AST | None = node.args[index]
        else:
            at = keyword_value(node, "path", "extract_dir")
        folder = self.value(at) if at is not None else Text(".")
        if isinstance(folder, Text) and not folder.temp:
            self.review.extract(folder.text or ".", label, self.line(node))

    def _check_archive(self, node, label, rule, callee) -> None:  # shutil.make_archive
        base = self.value(node.args[0] if node.args else keyword_value(node, "base_name"))
        kind = self.value(node.args[1] if len(node.args) > 1 else keyword_value(node, "format"))
        suffix = _ARCHIVE_SUFFIXES.get(kind.text, UNKNOWN) if isinstance(kind, Text) else UNKNOWN
        if isinstance(base, Text) and not base.temp:
            self.review.write(base.text + suffix, label, self.line(node))

    def _mode(self, node: ast.Call, callee: Callee) -> str | None:
        """The mode an ``open``-like call opens its file in, None if known only at run time."""
        _, rest = self._operands(node, callee)
        mode_node = rest[0] if rest else keyword_value(node, "mode", "flag")
        default = Text(rules.DEFAULT_MODES.get(callee.name or "", "r"))
        mode = self.value(mode_node) if mode_node is not None else default
        return mode.text if isinstance(mode, Text) and UNKNOWN not in mode.text else None

    def _check_fdopen(self, node, label, rule, callee) -> None:  # os.fdopen(fd, "w")
        mode = self._mode(node, callee)
        if mode is None or set(mode) & rules.WRITE_MODE_LETTERS:
            self.flag(rule.category, f"{label} {rule.effect}", node)

    def _check_inplace(self, node, label, rule, callee) -> None:  # fileinput.input(f, True)
        given = node.args[1] if len(node.args) > 1 else keyword_value(node, "inplace")
        if given is None or (isinstance(given, ast.Constant) and not given.value):
            return
        self.flag(rule.category, f"{label} {rule.effect}", node)
        subject, _ = self._operands(node, callee)
        if isinstance(subject, Text) and not subject.temp:
            self.review.write(subject.text, label, self.line(node))

    def _check_open(self, node, label, rule, callee) -> None:
        mode = self._mode(node, callee)
        if mode is None or set(mode) & rules.WRITE_MODE_LETTERS:  # not just reading
            replaces = mode is None or "w" in mode or "r" in mode  # r+ edits in place
            self._check_write(node, label, rule, callee, replaces)

    def _check_copy(self, node, label, rule, callee) -> None:
        subject, rest = self._operands(node, callee)
        target = self.value(rest[0] if rest else keyword_value(node, "dst", "target"))
        source = subject if isinstance(subject, Text) and not subject.temp else None
        if isinstance(target, Text) and not target.temp:
            self.review.write(target.text, label, self.line(node), source=source and source.text)
        if rule.check == "move" and source:  # the file also leaves where it was
            self.review.write(source.text, label, self.line(node), "moves", replaces=False)

    _check_move = _check_copy

    def _check_command(self, node, label, rule, callee) -> None:
        text = self._argv_text(node, callee.name or "")
        if text is None:
            given = node.args[0] if node.args else keyword_value(node, "args", "cmd")
            text = self.names.command_text(given)
        if text and callee.receiver == SHELL_OBJECT:
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
        words = [self.names.command_text(part) or UNKNOWN for part in [args[0], *argv]]
        return " ".join(shlex.quote(word) for word in words)

    def _check_code(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if isinstance(subject, Text) and UNKNOWN not in subject.text:
            line = self.line(node)
            self.review.cell(subject.text, lambda n: line)  # exec("...") is reviewed as a cell
        elif node.args or node.keywords:
            reason = f"{label} runs code built at run time, which this review cannot see"
            self.flag(DYNAMIC, reason, node)

    def _check_import(self, node, label, rule, callee) -> None:
        subject, _ = self._operands(node, callee)
        if not (isinstance(subject, Text) and UNKNOWN not in subject.text):
            self.flag(DYNAMIC, f"{label} imports a module named only at run time", node)

    def _check_magic(self, node, label, rule, callee) -> None:
        texts = [self.names.command_text(a) for a in node.args[:3]]
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


def _label_text(node: ast.Call, callee: Callee) -> str:
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
