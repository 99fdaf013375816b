"""Shell command lines as the risk review reads them: which programs run, and what they do.

Why a module of its own: ``!cmd``, ``%%bash``, ``%pip`` and ``subprocess.run(...)`` all end up
as a command line, and reading one needs no AST, only shell words and tables of programs
(``rm`` deletes, ``curl`` talks to the network, ``sudo`` and ``xargs`` run the word after
them). :mod:`jupyter_agents.safety.risk` turns what this module finds into flags and path checks.
"""

from __future__ import annotations

import os
import re
import shlex

from ..core.risk_flags import Category
from .risk_rules import DELETE, INSTALL, NETWORK, OVERWRITE, PROCESSES, SECRETS

SHELLS = set("sh bash zsh dash ksh fish".split())
PYTHON = re.compile(r"^(python[\d.]*|pypy\d*)$")
_DELETERS = set("rm rmdir unlink shred srm".split())
_STOPPERS = set("kill pkill killall shutdown reboot halt poweroff".split())
_NETWORK = set(
    "curl wget ssh scp sftp ftp nc ncat netcat telnet aria2c http aws gsutil gcloud az "
    "huggingface-cli kaggle http.server ngrok".split()
)
#: Programs that use the network in some subcommands only.
_NETWORK_SUBCOMMANDS = {
    "git": {"clone", "pull", "push", "fetch", "ls-remote", "submodule"},
    "docker": {"pull", "push", "login"},
}
_INSTALLERS = set(
    "pip pip3 pipx uv conda mamba micromamba apt apt-get yum dnf apk brew npm yarn pnpm gem "
    "cargo poetry pdm".split()
)
_INSTALL_SUBCOMMANDS = set(
    "install uninstall remove add upgrade update i create sync reinstall purge download".split()
)
#: Programs that run the command after them (``sudo rm``, ``xargs rm``, ``env X=1 pip``).
_WRAPPERS = set("sudo doas env nohup time nice ionice timeout xargs exec command stdbuf".split())
_SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&", "`"}
_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<", "<<", "<<<", ">&"}
_SECRET_VARIABLE = re.compile(r"\$\{?(\w*(?:KEY|TOKEN|SECRET|PASSW|PWD|CREDENTIAL|AUTH)\w*)", re.I)


def split_shell(text: str) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """Split a command line into simple commands: (words, [(redirection, target), ...]).

    The words are those of the program that really runs: ``sudo``, ``xargs``, ``X=1`` go.
    """
    lexer = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: the words are still worth a look
        tokens = text.split()
    commands: list[tuple[list[str], list[tuple[str, str]]]] = [([], [])]
    for index, token in enumerate(tokens):
        words, redirects = commands[-1]
        if token in _SEPARATORS:
            commands.append(([], []))
        elif token in _REDIRECTS:
            if words[-1:] in (["1"], ["2"]):  # 2> err.txt: the 2 is no argument
                words.pop()
            target = tokens[index + 1] if index + 1 < len(tokens) else ""
            redirects.append((token, target))
        elif not (index and tokens[index - 1] in _REDIRECTS):
            words.append(token)
    return [(_unwrap(words), redirects) for words, redirects in commands if words or redirects]


def _unwrap(words: list[str]) -> list[str]:
    while words:
        if re.match(r"^[A-Za-z_]\w*=", words[0]):
            words = words[1:]
        elif os.path.basename(words[0]) in _WRAPPERS and len(words) > 1:
            words = words[1:]
            while len(words) > 1 and (words[0][:1] == "-" or words[0][:1].isdigit()):
                words = words[1:]  # the wrapper's options: sudo -E, timeout 5
        else:
            break
    return words


def program(words: list[str]) -> tuple[str, list[str]]:
    """The program a simple command runs and its arguments (``python -m pip`` is pip)."""
    if not words:
        return "", []
    name, args = os.path.basename(words[0]), words[1:]
    if "executable" in name:  # !{sys.executable} -m pip install ...
        name = "python"
    if PYTHON.match(name) and args[:1] == ["-m"] and len(args) > 1:
        return args[1], args[2:]
    return name, args


def command_effects(words: list[str]) -> list[tuple[Category, str]]:
    """What a simple command does, as far as its words tell: ``rm`` deletes, ``curl`` ..."""
    name, args = program(words)
    operands = [a for a in args if not a.startswith("-")]
    first = set(operands[:1])
    effects = [
        (SECRETS, f"reads ${variable}, which looks like a secret")
        for variable in _SECRET_VARIABLE.findall(" ".join(words))
    ]
    if (
        name in _DELETERS
        or (name == "find" and {"-delete", "rm"} & set(args))
        or (name in {"git", "rsync"} and ("clean" in first or "--delete" in args))
    ):
        effects.append((DELETE, "deletes files"))
    if name == "git" and _discards_changes(first, args):
        effects.append((OVERWRITE, "discards uncommitted changes to files"))
    sub = set(operands[1:2]) if first & {"pip", "env"} else first  # uv pip install, conda env
    if name in _INSTALLERS and sub & _INSTALL_SUBCOMMANDS:
        effects.append((INSTALL, "installs or removes packages"))
    if (
        name in _NETWORK
        or first & _NETWORK_SUBCOMMANDS.get(name, set())
        or (name == "rsync" and any(":" in o for o in operands))
    ):
        effects.append((NETWORK, "talks to the network"))
    if name in _STOPPERS:
        effects.append((PROCESSES, "stops processes"))
    if name in {"env", "printenv", "set", "export"} and not args[1:]:
        effects.append((SECRETS, "prints environment variables, where API keys live"))
    return effects


def _discards_changes(first: set[str], args: list[str]) -> bool:
    """``git reset --hard``, ``git checkout -- x`` / ``.``, ``git restore x``: edits are lost."""
    if "reset" in first:
        return "--hard" in args
    if "checkout" in first:
        return bool({"--", ".", "-f", "--force"} & set(args))
    if "restore" in first:
        return not {"--staged", "-S"} & set(args) or bool({"--worktree", "-W"} & set(args))
    return False


def _option_values(args: list[str], *names: str) -> list[str]:
    """The values given to options: ``-o out.txt``, ``--output=out.txt``."""
    values = [args[i + 1] for i, a in enumerate(args[:-1]) if a in names]
    prefixes = tuple(f"{n}=" for n in names if n.startswith("--"))
    return values + [a.partition("=")[2] for a in args if prefixes and a.startswith(prefixes)]


def command_paths(words: list[str], redirects: list[tuple[str, str]]):
    """The paths a simple command changes: (path, verb, replaces_a_file, copied_from)."""
    name, args = program(words)
    operands = [a for a in args if not a.startswith("-")]
    paths = [
        (target, "writes to", op in {">", ">|", "&>"}, None)
        for op, target in redirects
        if op[0] != "<" and not target.isdigit()
    ]
    if name in _DELETERS:
        paths += [(target, "deletes", False, None) for target in operands]
    if name in {"cp", "mv"} and len(operands) >= 2:
        paths.append((operands[-1], "writes to", True, operands[0]))
        paths += [(source, "moves", False, None) for source in operands[:-1] if name == "mv"]
    if name == "tee":
        paths += [(target, "writes to", "-a" not in args, None) for target in operands]
    if name == "dd":
        paths += [(a[3:], "writes to", True, None) for a in args if a.startswith("of=")]
    if name in {"mkdir", "touch"}:
        paths += [(target, "creates", False, None) for target in operands]
    if name == "ln" and operands:
        paths.append((operands[-1] if len(operands) > 1 else ".", "creates", False, None))
    if name == "curl":
        paths += [(f, "writes to", True, None) for f in _option_values(args, "-o", "--output")]
    if name == "wget":
        paths += [(f, "writes to", True, None) for f in _option_values(args, "-O")]
        paths += [(d, "writes into", False, None) for d in _option_values(args, "-P")]
    if name == "unzip":
        paths += [(d, "extracts into", False, None) for d in _option_values(args, "-d")]
    if name == "tar" and args and ("x" in args[0].lstrip("-") or "--extract" in args):
        folders = _option_values(args, "-C", "--directory")
        paths += [(d, "extracts into", False, None) for d in folders]
    return paths


def logical_lines(body: str) -> list[tuple[int, str]]:
    """Shell lines with their 1-based numbers; a line ending in a backslash continues."""
    numbered, number = [], 1
    for text in re.split(r"(?<!\\)\n", body):
        numbered.append((number, text.replace("\\\n", " ")))
        number += text.count("\n") + 1
    return numbered
