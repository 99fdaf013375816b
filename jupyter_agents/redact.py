"""Keeping secrets out of what is sent to the model (and, later, out of saved transcripts).

What the agent gathers by itself, the variables summary, the user's cells and the outputs of
the cells it runs, can hold credentials: ``OPENAI_API_KEY = "sk-..."`` in a cell, a token in
an environment variable that some cell printed. Four rules, applied to that text:

- variables whose *names* look secret (``api_key``, ``db_password``, ``GITHUB_TOKEN``) have
  their values hidden;
- strings shaped like well-known credentials (OpenAI/Anthropic/GitHub/Slack/AWS/Google/Hugging
  Face keys, bearer tokens, private key blocks) are replaced;
- the values of environment variables whose names look secret are replaced wherever they
  appear;
- quoted strings given to secret-named things (``db_password = "..."``, ``token="..."``,
  ``{'api_key': '...'}``) lose their value.

This is a safety net, not a guarantee: a secret with no recognisable name or shape passes.
The task the user typed is never changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

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
#: Environment values shorter than this are too likely to appear by accident ("true", "1").
MIN_ENV_SECRET = 8
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
    """Replaces secrets in text; built once per run from the environment."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        values = {
            value
            for name, value in environ.items()
            if SECRET_NAME.search(name) and len(value) >= MIN_ENV_SECRET
        }
        self._env_values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._env_values:
            if value in text:
                text = text.replace(value, REDACTED)
        text = _redact_assignments(text)
        return _SECRET_VALUE.sub(REDACTED, text)


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


def looks_secret(name: str) -> bool:
    """Whether a variable's name says its value is a credential."""
    return bool(SECRET_NAME.search(name))
