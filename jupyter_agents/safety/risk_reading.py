"""How IPython will read a cell: the source the risk review analyses, and when it cannot.

Why a module of its own: what a cell *does* depends on state that earlier cells changed. With
``%autocall`` on, ``os.system "ls"`` is a call; after ``%alias nuke rm -rf data`` or
``%rehashx`` the bare word ``nuke`` runs a program; after ``from __future__ import
barry_as_FLUFL`` the cell ``1 <> 2`` parses, where plain :func:`ast.parse` says it cannot. A
review that reads the cell with a fresh default IPython reads another program than the one
that runs. So in a kernel this module reads the cell with the kernel's **live** machinery:
``shell.transform_cell`` (its input transformers, the prefilter that does automagic, autocall,
aliases and macros on one-line cells, and the post transformers: exactly what
``executor.KernelExecutor`` runs) and ``shell.compile.ast_parse`` (the compiler flags that the
kernel's ``__future__`` imports left on). Without a shell (tests, integrators outside a
kernel) it falls back to IPython's default transformer and an emulation of automagic.

What it cannot read raises :class:`CannotAnalyse` with a reason; the review turns that into a
flag, so such a cell waits for a person under ``--approve risky`` (fail closed). The options in
front of the code of ``%time``, ``%timeit``, ``%prun`` and ``%debug`` are read here too, as
IPython reads them (:func:`magic_statement`).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import getopt
import re
import shlex
import time
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from . import risk_rules as rules
from .risk_values import MISSING, namespace_get, short

_PYTHON_AFTER = set("=,")  # after a name, these make a line Python, not automagic (as IPython)
#: ``%config`` targets that only change how output looks, not how cells are read or run.
_HARMLESS_CONFIG = ("InlineBackend.",)


class CannotAnalyse(Exception):  # noqa: N818 - a reason, not an error of the review
    """The review cannot read this cell fully; ``reason`` says why (one line)."""

    def __init__(self, reason: str, line: int = 1):
        super().__init__(reason)
        self.reason, self.line = reason, line


class Reading:
    """How IPython reads cells here: live (``shell`` given) or IPython's defaults."""

    def __init__(self, shell: Any, namespace: Mapping[str, Any], time_limit: float):
        self.shell, self.namespace = shell, namespace
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise CannotAnalyse(f"the review took longer than {self.time_limit:g} s")

    def source(self, code: str) -> tuple[str, ast.Module]:
        """The Python IPython runs for ``code``, parsed as the kernel's compiler parses it."""
        self.check_time()
        if self.shell is None:
            tree = _parse(code, 0)  # IPython changes only what is not Python: skip it if it can
            source = _automagic(code if tree else _default_transform(code), self.namespace)
            if source == code and tree is not None:
                return source, tree
        else:
            source = self._live_transform(code)
        return source, self._parse(source)

    def _live_transform(self, code: str) -> str:
        shell = self.shell
        shown, last = (
            getattr(shell, "show_rewritten_input", False),
            shell.__dict__.get("_last_input_line", MISSING),
        )
        try:
            shell.show_rewritten_input = False  # autocall would print "------> f(x)"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return shell.transform_cell(code)
        except RecursionError as exc:
            raise CannotAnalyse("it is nested too deeply for IPython's transforms") from exc
        except Exception as exc:
            reason = f"IPython could not transform it ({type(exc).__name__}: {exc})"
            raise CannotAnalyse(short(reason, 160)) from exc
        finally:
            shell.show_rewritten_input = shown
            if last is not MISSING:
                shell._last_input_line = last

    def _parse(self, source: str) -> ast.Module:
        compiler = getattr(self.shell, "compile", None)
        flags = getattr(compiler, "flags", 0) if compiler is not None else 0
        try:
            tree = _parse(source, flags, strict=True)
        except RecursionError as exc:
            raise CannotAnalyse("it is nested too deeply for the review to read") from exc
        except SyntaxError as exc:
            reason = f"it does not parse as Python ({type(exc).__name__}: {exc.msg})"
            raise CannotAnalyse(short(reason, 160), exc.lineno or 1) from exc
        except (ValueError, MemoryError, OverflowError) as exc:
            raise CannotAnalyse(f"it does not parse as Python ({type(exc).__name__})") from exc
        assert tree is not None
        return tree

    def alias(self, name: str) -> str | None:
        """The command a shell alias ``name`` runs, if the kernel has one it did not start with.

        IPython's own aliases (``%rm``, ``%mv``, ``%ls`` ...) are read as their magics are;
        one an earlier cell defined or redefined (``%alias``, ``%rehashx``) is returned.
        """
        manager = getattr(self.shell, "alias_manager", None)
        try:
            if manager is None or not manager.is_alias(name):
                return None
            command = manager.retrieve_alias(name)
            defaults = dict(manager.default_aliases)
            return None if defaults.get(name) == command else str(command)
        except Exception:
            return None

    def post_transformers(self) -> list[str]:
        """The AST transformers that rewrite every cell after this review has read it."""
        found = getattr(self.shell, "ast_transformers", None) or []
        return [type(t).__name__ for t in found]


def changes_reading(name: str, arg: str) -> str | None:
    """What ``%name arg`` changes about how later cells are read, if it does."""
    if name == "config" and "=" in arg and not arg.strip().startswith(_HARMLESS_CONFIG):
        return "changes IPython's configuration, which can change how later cells run"
    return None


def expand_alias(command: str, rest: str) -> str:
    """The command line an alias runs for ``rest`` (as ``IPython.core.alias.Alias``)."""
    if "%l" in command:
        return command.replace("%l", rest)
    count = command.count("%s")
    if not count:
        return f"{command} {rest}".strip()
    words = rest.split(None, count)
    words += ["{?}"] * (count - len(words))
    return f"{command.replace('%s', '{}').format(*words[:count])} {' '.join(words[count:])}"


def magic_statement(name: str, arg: str) -> tuple[list[tuple[str, str]], str]:
    """The options of ``%time``, ``%timeit``, ``%prun`` or ``%debug`` and the code after them.

    Read as IPython reads them (``Magics.parse_options`` is getopt, ``%time`` and ``%debug``
    use argparse), so ``%timeit -n1 !pip install x`` gives ``!pip install x``. The code is a
    line of IPython, not yet Python. Options IPython would refuse leave the text as it is.
    """
    spec = rules.CODE_MAGIC_OPTIONS.get(name, "")
    try:
        tokens = _arg_split(arg)
        if isinstance(spec, str):  # getopt stops at the first word that is not an option
            options, _ = getopt.getopt(tokens, spec)
            rest = arg
            for option, value in options:  # as IPython: cut each option from the text
                rest = rest.replace(option, "", 1).replace(value, "", 1)
            return options, rest.strip()
        parser = _Parser(add_help=False)
        for names, takes_value in spec:
            parser.add_argument(*names, action="store" if takes_value else "store_true")
        _, extra = parser.parse_known_args(tokens)  # argparse also takes options after code
        return [], " ".join(extra)
    except (getopt.GetoptError, ValueError, TypeError):
        return [], arg.strip()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # IPython raises a UsageError; here: read it all
        raise ValueError(message)


def _arg_split(text: str) -> list[str]:
    """IPython's ``arg_split``: shell-like words that keep their quotes."""
    lexer = shlex.shlex(text, posix=False)
    lexer.whitespace_split, lexer.commenters = True, ""
    tokens: list[str] = []
    try:
        tokens.extend(lexer)
    except ValueError:  # an open quote: the rest is one word, as IPython's strict=False
        tokens.append(lexer.token)
    return tokens


@lru_cache(maxsize=1)
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def _parse(source: str, flags: int, strict: bool = False) -> ast.Module | None:
    """``source`` parsed with the compiler ``flags``; None if it does not parse (or raises
    when ``strict``)."""
    try:
        with warnings.catch_warnings():  # invalid escape sequences and the like
            warnings.simplefilter("ignore")
            return compile(source, "<cell>", "exec", flags | ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError):
        if strict:
            raise
        return None


def _default_transform(code: str) -> str:
    """The Python a default IPython runs for ``code``: ``!cmd``, ``%magic``, ``x?`` as calls."""
    try:
        with warnings.catch_warnings():  # odd line endings warn; the user must not see that
            warnings.simplefilter("ignore")
            return _transformer().transform_cell(code)
    except Exception:
        return code


def _automagic(source: str, namespace: Mapping[str, Any]) -> str:
    """Without a live shell: a one-line cell such as ``pip install x`` or ``exit`` as the call
    IPython makes of it.

    As IPython's prefilter: the first word (``[\\w.*]+``, so ``pip.x`` is no magic) names a
    magic the namespace does not hide, and the rest does not start with ``=`` or ``,``.
    """
    match = re.fullmatch(r"\s*([A-Za-z_][\w.*]*)\s*(.*?)\s*", source)  # a one-line cell
    if not match:
        return source
    name, rest = match[1], match[2]
    bound = namespace_get(namespace, name)
    autocall = bound is MISSING or "Autocall" in type(bound).__name__
    if name in {"exit", "quit"} and not rest and autocall:
        return f"{name}()\n"  # IPython's exit needs no parentheses
    if bound is not MISSING or name not in rules.AUTOMAGIC_NAMES or rest[:1] in _PYTHON_AFTER:
        return source  # Python after all, or a name of the user's that hides the magic
    return f"get_ipython().run_line_magic({name!r}, {rest!r})\n"


def line_map(original: str, transformed: str) -> list[int]:
    """For each line IPython produced, the original line it came from (1-based).

    IPython strips ``>>>`` prompts, drops leading blank lines and joins ``!cmd \\``
    continuations; matching the lines that did not change places everything else.
    """
    old = [line.strip() for line in original.splitlines()]
    new = [line.strip() for line in transformed.splitlines()]
    mapping = list(range(1, len(new) + 1))
    if old != new:
        for _, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, False).get_opcodes():
            for j in range(j1, j2):  # line by line where a block kept its size, else its start
                mapping[j] = min(i1 + (j - j1 if i2 - i1 == j2 - j1 else 0), len(old) - 1) + 1
    return mapping or [1]


def running_shell(namespace: Mapping[str, Any] | None) -> Any:
    """The kernel's shell, when this runs in one and ``namespace`` is its user namespace."""
    import sys

    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return None
    if shell is None or (
        namespace is not None and getattr(shell, "user_ns", None) is not namespace
    ):
        return None
    return shell
