"""Keeping secrets out of what is sent to the model (and, later, out of saved transcripts).

What the agent gathers by itself, the variables summary, the user's cells and the outputs of
the cells it runs, can hold credentials: ``OPENAI_API_KEY = "sk-..."`` in a cell, a token in
an environment variable that some cell printed. Four rules, applied to that text:

- variables whose *names* look secret (``api_key``, ``db_password``, ``GITHUB_TOKEN``) have
  their values hidden;
- strings shaped like well-known credentials (OpenAI/Anthropic/GitHub/Slack/AWS/Google/Hugging
  Face keys, bearer tokens, private key blocks) are replaced;
- secrets are also found by *value*: every value of an environment variable whose name looks
  secret (6 characters or more), and the password of every URL in any environment variable
  (``DATABASE_URL=postgres://user:PASSWORD@host/db``), are replaced wherever they appear,
  with their HTML-, JSON- and repr-escaped forms, and so is any start or end of such a value
  of 12 characters or more (a repr that cuts a long value, ``'tok-abc...'``, still leaks
  its start); ``user:password@`` in any URL loses its password;
- quoted strings given to secret-named things (``db_password = "..."``, ``token="..."``,
  ``{'api_key': '...'}``) lose their value.

This is a safety net, not a guarantee: a secret with no recognisable name or shape passes.
The task the user typed is never changed.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"

SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|auth(?!or)|session[_-]?key|cookie)"
)
_SECRET_VALUE = re.compile(
    "|".join(
        [
            r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}",  # OpenAI, Anthropic
            r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
            r"github_pat_[A-Za-z0-9_]{20,}",
            r"xox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
            r"(?:AKIA|ASIA)[0-9A-Z]{16}",  # AWS access key ids
            r"AIza[0-9A-Za-z_-]{30,}",  # Google API keys
            r"hf_[A-Za-z0-9]{20,}",  # Hugging Face
            r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}",  # Authorization: Bearer ...
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        ]
    )
)
#: Values of secret-named environment variables shorter than this are too likely to appear
#: by accident ("true", "1"); a password of 6 is not.
MIN_ENV_SECRET = 6
#: A start or an end of a secret value this long is the secret (what a cut repr keeps).
MIN_SECRET_PART = 12
#: ``scheme://user:password@``: the password of a URL's credentials, in any text.
_URL_PASSWORD = re.compile(
    r"(?P<user>[a-z][a-z0-9+.-]*://[^\s:/@'\"<>]*:)[^\s/@'\"<>]+(?=@)", re.IGNORECASE
)
#: The same in an environment value, to learn the password as a value.
_URL_CREDENTIALS = re.compile(r"://(?P<user>[^\s:/@]*):(?P<password>[^\s/@]+)@")
#: A quoted string given to a secret-named thing: ``db_password = "..."``, ``token="..."``
#: (a keyword argument), ``'api_key': '...'`` (a dict entry or printed dict). The name and the
#: quotes stay; the value goes. Values under 6 characters are left (placeholders, "").
#: The name must *end* in the secret word (the separator follows it at once): text is changed,
#: so ``token_pattern``, ``secretary`` or ``cookie_policy`` keep their values. It is tried only
#: where one of ``_SECRET_WORD_STARTS`` occurs (found by ``str.find``): outputs can be
#: megabytes of HTML, and a regex scan of every position costs seconds there.
_SECRET_WORD_STARTS = (
    "pass", "secret", "token", "api", "access", "private", "credential", "auth", "session",
    "cookie",
)  # fmt: skip
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<name>(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?|auth|session[_-]?key|cookie)['\"]?"
    r"\s*(?::|=(?!=))\s*)(?P<quote>['\"])[^'\"\n]{6,}(?P=quote)",
    re.IGNORECASE,
)


class Redactor:
    """Replaces secrets in text; built once per run from the environment and, in a kernel,
    from the namespace: ``db_password = "..."`` set in a user's cell is a secret too."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, namespace: Mapping[str, Any] | None = None
    ) -> None:
        environ = os.environ if environ is None else environ
        secrets = [*secret_values(environ), *secret_values(_short_strings(namespace or {}))]
        values = {form for value in secrets for form in _escaped_forms(value)}
        self._known_values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._known_values:
            text = _redact_value(text, value)
        if "://" in text and "@" in text:
            text = _URL_PASSWORD.sub(lambda match: match["user"] + REDACTED, text)
        text = _redact_assignments(text)
        return _SECRET_VALUE.sub(REDACTED, text)

    def holds_secret(self, text: str) -> bool:
        """Whether ``text`` holds anything this redactor would replace."""
        return self(text) != text


def secret_values(environ: Mapping[str, str]) -> Iterator[str]:
    """The secrets an environment holds: the values of its secret-named variables, and the
    credentials in the URLs of any of its variables."""
    for name, value in environ.items():
        if SECRET_NAME.search(name) and len(value) >= MIN_ENV_SECRET:
            yield value
        for match in _URL_CREDENTIALS.finditer(value):
            password = match["password"]
            if len(password) >= 3:  # a URL's password is one whatever its length
                yield from {password, unquote(password)}


#: Longer strings in a namespace are data, not credentials: they are not read for secrets.
_NAMESPACE_SECRET_CHARS = 4096


def _short_strings(namespace: Mapping[str, Any]) -> dict[str, str]:
    """The namespace's string (and bytes) values short enough to be a credential."""
    found = {}
    for name, value in list(namespace.items()):
        if isinstance(value, bytes) and len(value) <= _NAMESPACE_SECRET_CHARS:
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and len(value) <= _NAMESPACE_SECRET_CHARS:
            found[str(name)] = value
    return found


def _escaped_forms(value: str) -> Iterable[str]:
    """``value`` as text, HTML, JSON and a repr may show it."""
    return {value, html.escape(value), json.dumps(value)[1:-1], repr(value)[1:-1]}


def _redact_value(text: str, value: str) -> str:
    """``text`` without ``value``, nor any start or end of it of ``MIN_SECRET_PART`` or more."""
    if len(value) < MIN_SECRET_PART:
        return text.replace(value, REDACTED) if value in text else text
    head, tail = value[:MIN_SECRET_PART], value[-MIN_SECRET_PART:]
    if head not in text and tail not in text:
        return text
    spans = [*_starts(text, value, head), *_ends(text, value, tail)]
    parts, end = [], 0
    for start, stop in sorted(spans):
        if stop > end:
            parts += [text[end : max(start, end)], REDACTED if start >= end else ""]
            end = stop
    return "".join(parts) + text[end:]


def _starts(text: str, value: str, head: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that are a start of ``value`` (``head`` or longer)."""
    at = text.find(head)
    while at >= 0:
        stop = at + len(head)
        while stop < len(text) and stop - at < len(value) and text[stop] == value[stop - at]:
            stop += 1
        yield at, stop
        at = text.find(head, at + 1)


def _ends(text: str, value: str, tail: str) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that are an end of ``value`` (``tail`` or longer)."""
    at = text.find(tail)
    while at >= 0:
        start, stop = at, at + len(tail)
        while start > 0 and stop - start < len(value):
            if text[start - 1] != value[-(stop - start) - 1]:
                break
            start -= 1
        yield start, stop
        at = text.find(tail, at + 1)


def _redact_assignments(text: str) -> str:
    """``text`` with the values of ``_SECRET_ASSIGNMENT`` matches replaced."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: plain scan
        return _SECRET_ASSIGNMENT.sub(_keep_name, text)
    spans: list[tuple[int, int, str]] = []
    for word in _SECRET_WORD_STARTS:
        at = lowered.find(word)
        while at >= 0:
            match = _SECRET_ASSIGNMENT.match(text, at)
            if match is not None:
                spans.append((match.start(), match.end(), _keep_name(match)))
            at = lowered.find(word, at + 1)
    if not spans:
        return text
    parts, end = [], 0
    for start, stop, replacement in sorted(spans):
        if start >= end:  # overlapping matches (two secret words in one name): replace once
            parts += [text[end:start], replacement]
            end = stop
    return "".join(parts) + text[end:]


def _keep_name(match: re.Match[str]) -> str:
    return f"{match['name']}{match['quote']}{REDACTED}{match['quote']}"


#: Environment values shorter than this are not taken as a variable's origin ("1", "C").
MIN_ENV_ORIGIN = 4


def from_environment(value: object, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``value`` is (a copy of) the value of an environment variable: a name bound
    with ``os.environ[...]`` or ``os.getenv(...)`` may hold a secret whatever its name."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or len(value) < MIN_ENV_ORIGIN:
        return False
    environ = os.environ if environ is None else environ
    return any(value == known for known in environ.values())


def looks_secret(name: str) -> bool:
    """Whether a variable's name says its value is a credential."""
    return bool(SECRET_NAME.search(name))


def redacted_json(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` with every string in it redacted: text, nbformat's list of lines, JSON
    (keys too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redacted_json(part, redact) for part in value]
    if isinstance(value, dict):
        return {
            redact(key) if isinstance(key, str) else key: redacted_json(part, redact)
            for key, part in value.items()
        }
    return value
