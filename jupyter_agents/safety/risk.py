"""Risk review of a proposed cell: one-line flags shown above the code before a human approves it.

Why it exists: approved code runs with the kernel's full rights, so the approval gate is the
security boundary, and a person skimming thirty lines can miss the one ``shutil.rmtree``. The
review points at such lines. It decides nothing (``--approve risky`` only asks a human when
there is a flag) and it is no sandbox: docs/risk.md lists what it cannot see.

Why it works this way: a cell arrives as IPython source, so it is first turned into the Python
that IPython really runs (``!rm x`` becomes ``get_ipython().system('rm x')``). That is parsed
with :mod:`ast`, never matched with regexes, so a string or comment that mentions
``os.remove`` is no flag, and ``import os as o; o.remove(p)`` is one. The work is shared:
this module holds the public API and what is not Python (magics, shell command lines, and
paths judged on disk: does the file exist, is it outside the notebook's folder);
:mod:`.risk_reading` turns a cell into the Python the kernel runs; :mod:`.risk_python` walks
that Python, :mod:`.risk_values` works out what each name and call really is, and
:mod:`.risk_calls` what each call does; :mod:`.risk_rules` is the knowledge, as tables of
risky functions and magics, and :mod:`.risk_shell` reads shell command lines.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from ..core.risk_flags import Category, RiskFlag
from ..text.hidden_text import hidden_flags
from . import risk_rules as rules
from . import risk_shell
from .risk_python import CallFinder
from .risk_reading import (
    CannotAnalyse,
    Reading,
    changes_reading,
    expand_alias,
    line_map,
    magic_statement,
    running_shell,
)
from .risk_rules import DYNAMIC, NETWORK, OUTSIDE, OVERWRITE, SECRETS, SHELL
from .risk_values import short

__all__ = ["Category", "RiskFlag", "review_cell"]

_ORDER = {category: index for index, category in enumerate(Category)}
_MAX_DEPTH = 4  # how deep exec("...") inside %time inside %%capture ... is followed
#: Seconds the review may take before the cell is flagged as not analysed (fail closed).
TIME_LIMIT = 3.0
_UNREAD = "could not be analysed"
_LATER_PATHS = "later relative paths point elsewhere"
_STORE_EFFECT = "writes to IPython's stored variables in ~/.ipython, outside the notebook's folder"


def review_cell(
    code: str,
    *,
    namespace: Mapping[str, Any] | None = None,
    notebook_dir: str | os.PathLike[str] | None = None,
    shell: Any = None,
    time_limit: float = TIME_LIMIT,
) -> list[RiskFlag]:
    """Flag the risky operations in an IPython cell, in line order, without running it.

    ``namespace`` is the user's namespace: names bound in earlier cells resolve through it.
    ``notebook_dir`` is the folder that relative paths start from and that writes should stay
    in; by default the current directory. ``shell`` is the kernel's IPython shell, whose live
    transformers, compiler flags, autocall setting and aliases decide what the cell runs; by
    default the running shell when ``namespace`` is its namespace (or is not given).

    Never raises. Fails closed: a cell the review cannot fully read (it does not parse after
    IPython's transforms, it is nested too deeply, the review fails or takes longer than
    ``time_limit`` seconds) gets a flag "could not be analysed: ...".
    """
    if not isinstance(code, str):
        return []
    if shell is None:
        shell = running_shell(namespace)
    if namespace is None and shell is not None:
        namespace = getattr(shell, "user_ns", None)
    review = _Review(namespace, notebook_dir, shell, time_limit)
    for line, reason in hidden_flags(code):  # what the reader sees is not what runs
        review.add(DYNAMIC, reason, line)
    try:
        for name in review.reading.post_transformers():
            reason = f"IPython rewrites every cell with {name} after this review has read it"
            review.add(DYNAMIC, f"{_UNREAD}: {reason}; read it", 1)
        review.cell(code, lambda n: n)
    except CannotAnalyse as exc:
        review.add(DYNAMIC, f"{_UNREAD}: {exc.reason}; read it", exc.line)
    except RecursionError:
        review.add(DYNAMIC, f"{_UNREAD}: it is nested too deeply for the review; read it", 1)
    except Exception as exc:  # a bug here must not pass for a clean cell
        reason = f"{_UNREAD}: the risk review failed ({type(exc).__name__}); read this cell"
        review.add(DYNAMIC, reason, 1)
    return sorted(review.found, key=lambda f: (f.line, _ORDER[f.category], f.reason))


# ---- One review: the flags, the folder, magics and shell commands ----------------------------


class _Review:
    def __init__(
        self, namespace: Mapping[str, Any] | None, notebook_dir: Any, shell: Any, limit: float
    ):
        self.namespace = namespace if isinstance(namespace, Mapping) else {}
        self.reading = Reading(shell, self.namespace, limit)
        self.found: set[RiskFlag] = set()
        self.depth = 0
        try:
            self.base: str | None = os.path.realpath(os.fspath(notebook_dir or os.getcwd()))
        except (OSError, TypeError, ValueError):  # no usable folder: skip the path checks
            self.base = None

    def add(self, category: Category, reason: str, line: int) -> None:
        self.found.add(RiskFlag(category, " ".join(reason.split()), max(1, line)))

    def cell(self, code: str, line_of: Callable[[int], int]) -> None:
        """Review an IPython cell; ``line_of`` maps its line numbers to the ones reported."""
        self.reading.check_time()
        if self.depth >= _MAX_DEPTH:
            self.add(DYNAMIC, "code nested this deeply is not reviewed; read it", line_of(1))
            return
        self.depth += 1
        try:
            lines = code.splitlines()
            start = next((i for i, text in enumerate(lines) if text.strip()), 0)
            if lines and lines[start].lstrip().startswith("%%"):  # a cell magic: read its body
                name, _, arg = lines[start].lstrip()[2:].partition(" ")
                body = "\n".join(lines[start + 1 :])
                self.magic(
                    name, arg.strip(), body, line_of(start + 1), lambda n: line_of(start + 1 + n)
                )
            else:
                self._python(code, line_of)
        finally:
            self.depth -= 1

    def _python(self, code: str, line_of: Callable[[int], int]) -> None:
        try:
            source, tree = self.reading.source(code)  # what IPython runs, as the kernel reads it
        except CannotAnalyse as exc:
            if self.depth > 1:  # exec("..."), %time ...: say where, then go on with the rest
                self.add(DYNAMIC, f"{_UNREAD}: code inside: {exc.reason}; read it", line_of(1))
                return
            lines = code.splitlines() or [""]
            exc.line = line_of(min(max(exc.line, 1), len(lines)))
            raise
        lines = line_map(code, source)
        CallFinder(self, lambda n: line_of(lines[min(max(n, 1), len(lines)) - 1])).visit(tree)

    # Paths.

    def write(
        self,
        text: str,
        label: Any,  # a str, or risk_calls._Label (written out when needed)
        line: int,
        verb: str = "writes to",
        replaces: bool = True,
        source: str | None = None,
    ) -> None:
        """Flag a write to ``text`` that replaces a file or lands outside the notebook's folder."""
        if self.base is None or not text or rules.URL.match(text) or text.startswith("/dev/"):
            return
        known = re.split(r"[{$]", text)[0]  # {x} and $x are filled in at run time
        if known != text:  # only the start of the path is known: is its folder outside?
            known = os.path.dirname(known)
            if known and not _within(self._real(known), self.base):
                self.add(OUTSIDE, f"{label} {verb} {text!r}, outside the notebook's folder", line)
            return
        path = self._real(text)
        if replaces and source and os.path.isdir(path):  # cp/mv into a folder
            path = os.path.join(path, os.path.basename(source.rstrip("/")))
        if replaces and os.path.isfile(path):
            where = "" if text in label else f" {text!r}"
            self.add(OVERWRITE, f"{label} overwrites the existing file{where}", line)
        if not _within(path, self.base):
            self.add(OUTSIDE, f"{label} {verb} {text!r}, outside the notebook's folder", line)

    def extract(self, folder: str, label: Any, line: int) -> None:
        """Flag extracting an archive into a folder that has files in it, or that is outside."""
        path = self._real(folder) if self.base and "{" not in folder and "$" not in folder else ""
        try:
            full = bool(path) and os.path.isdir(path) and next(os.scandir(path), None) is not None
        except OSError:
            full = False
        if full:
            into = "the notebook's folder" if folder == "." else repr(folder)
            reason = f"{label} extracts an archive into {into}, which has files it can replace"
            self.add(OVERWRITE, reason, line)
        self.write(folder, label, line, "extracts into", replaces=False)

    def _real(self, text: str) -> str:
        return os.path.realpath(os.path.join(self.base or "", os.path.expanduser(text)))

    def credentials(self, text: Any, label: Any, line: int) -> None:
        kind = rules.credential_kind(text) if isinstance(text, str) else None
        if kind:
            self.add(SECRETS, f"{label} uses {text!r}, which holds {kind}", line)

    # Magics and shell commands.

    def magic(
        self, name: str, arg: str, body: str | None, line: int, body_line: Callable[[int], int]
    ) -> None:
        """Review ``%name arg`` (``body`` is None) or ``%%name arg`` above ``body``."""
        label = short(f"%{'%' * (body is not None)}{name} {arg}".strip())
        words = [w for w in _words(arg) if not w.startswith("-")]
        alias = self.reading.alias(name) if body is None else None
        if alias is not None:  # %alias nuke rm -rf data, %rehashx: a program, by another name
            command = expand_alias(alias, arg)
            self.add(SHELL, f"{label} runs the shell alias `{short(command, 60)}`", line)
            self.shell(command, line)
        elif changes_reading(name, arg):
            self.add(DYNAMIC, f"{label} {changes_reading(name, arg)}", line)
        elif name in rules.CODE_MAGICS:  # %time stmt, %%timeit setup, then the body
            if name != "capture":
                options, statement = magic_statement(name, arg)
                for option, value in options:  # %prun -T stats.txt
                    if option in rules.PRUN_FILE_OPTIONS and name == "prun":
                        self.write(value, label, line)
                if statement.strip():  # a line of IPython: !cmd, %magic, automagic or Python
                    self.cell(statement, lambda n: line)
            if body is not None:
                self.cell(body, body_line)
        elif body is not None:
            self._cell_magic(name, arg, words, body, label, line, body_line)
        elif name in rules.SHELL_LINE_MAGICS:
            self.add(SHELL, f"{label} runs a shell command", line)
            self.shell(arg, line)
        elif name in rules.COMMAND_LINE_MAGICS:  # %pip install x, %rm -r data
            self.shell(f"{name} {arg}", line, prefix="%")
        elif name in rules.CHDIR_MAGICS:
            self.chdir(_chdir_target(name, arg), label, line)
        elif name in rules.FILE_LINE_MAGICS:
            self._file_magic(name, arg, label, line)
        elif name in rules.URL_LINE_MAGICS and any(rules.URL.match(w) for w in words):
            self.add(NETWORK, f"{label} downloads code from the internet", line)
        elif name in rules.LINE_MAGICS:
            category, effect = rules.LINE_MAGICS[name]
            self.add(category, f"{label} {effect}", line)
        elif name == "env" and "=" not in arg and len(words) <= 1:
            self.add(SECRETS, f"{label} shows environment variables, where API keys live", line)

    def chdir(self, target: str | None, label: Any, line: int) -> None:
        """Flag a change of the working directory (to ``target``, when it is known)."""
        to = f" to {target!r}" if target and target != "{?}" else ""
        self.add(OUTSIDE, f"{label} changes the working directory{to}: {_LATER_PATHS}", line)

    def _file_magic(self, name: str, arg: str, label: str, line: int) -> None:
        """``%save``, ``%logstart``, ``%notebook`` and ``%store``: the files they write."""
        options = {w for w in _words(arg) if w.startswith("-")}
        words = [w for w in _words(arg) if not w.startswith("-")]
        if name == "save" and words:  # %save [-f] [-a] [-r] name [lines]: .py is added
            path = words[0]
            if not path.endswith((".py", ".ipy")):
                path += ".ipy" if "-r" in options else ".py"
            # without -f IPython asks before it replaces a file; with -a it appends
            self.write(path, label, line, replaces="-f" in options and "-a" not in options)
        elif name == "logstart":  # %logstart [options] [name [mode]]: rotate, backup keep
            path, mode = (words + ["ipython_log.py", "rotate"][len(words) :])[:2]
            if mode == "global":  # a single log in your home folder
                path = os.path.join("~", path)
            self.write(path, label, line, replaces=mode == "over")
        elif name == "notebook" and words:
            self.write(words[-1], label, line)
        elif name == "store" and words and not options & {"-r"}:
            target = arg.partition(">")[2].lstrip(">").strip()
            if target:  # %store x >file.txt, %store x >>file.txt
                self.write(target, label, line, replaces=">>" not in arg)
            else:  # %store x, %store -d x: IPython's database in your home folder
                self.add(OUTSIDE, f"{label} {_STORE_EFFECT}", line)
        elif name == "store" and options & {"-z", "-d"}:
            self.add(OUTSIDE, f"{label} {_STORE_EFFECT}", line)

    def _cell_magic(
        self,
        name: str,
        arg: str,
        words: list[str],
        body: str,
        label: str,
        line: int,
        body_line: Callable[[int], int],
    ) -> None:
        program = os.path.basename(words[0]) if name == "script" and words else name
        if name in rules.SHELL_CELL_MAGICS or program in risk_shell.SHELLS:
            self.add(SHELL, f"{label} runs the cell as shell commands", line)
            for number, text in risk_shell.logical_lines(body):
                self.shell(text, body_line(number))
        elif name in rules.SCRIPT_CELL_MAGICS:
            self.add(SHELL, f"{label} runs the cell in {program}", line)
            if risk_shell.PYTHON.match(program):
                self.cell(body, body_line)
        elif name in rules.WRITE_CELL_MAGICS and words:
            self.write(words[-1], label, line, replaces=not {"-a", "--append"} & set(_words(arg)))
        elif name in rules.CELL_MAGICS:
            category, effect = rules.CELL_MAGICS[name]
            self.add(category, f"{label} {effect}", line)

    def shell(self, text: str, line: int, prefix: str = "") -> None:
        """Review a shell command line, one simple command at a time."""
        for words, redirects in risk_shell.split_shell(text):
            label = f"`{prefix}{short(' '.join(words), 60)}`"
            name, args = risk_shell.program(words)
            if "-c" in args[:-1] and (name in risk_shell.SHELLS or risk_shell.PYTHON.match(name)):
                inner = args[args.index("-c") + 1]  # bash -c "...", python -c "..."
                if name in risk_shell.SHELLS:
                    self.shell(inner, line, prefix)
                else:
                    self.cell(inner, lambda n: line)
            for category, effect in risk_shell.command_effects(words):
                self.add(category, f"{label} {effect}", line)
            for word in [*words, *(target for _, target in redirects)]:
                self.credentials(word, label, line)
            for path, verb, replaces, source in risk_shell.command_paths(words, redirects):
                self.write(path, label, line, verb, replaces, source)


def _chdir_target(name: str, arg: str) -> str | None:
    """Where ``%cd``, ``%pushd`` or ``%popd`` go, when a reader can tell."""
    if name == "popd":
        return None
    words = [w for w in _words(arg) if w != "-q"]
    if "-b" in words or any(w.startswith("-") for w in words[:1]):
        return None  # a bookmark, or "-" / "-3": a folder from the history
    return " ".join(words) or "~"


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False
