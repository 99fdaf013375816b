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
#: Its names are stricter than SECRET_NAME's: text is changed, so ``compass_heading`` or
#: ``tokenizer_name = "bert-base-uncased"`` must not lose their values.
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<name>[\w.-]*(?:pass(?:word|wd|phrase)|(?<![a-z])pass(?![a-z])|secret"
    r"|token(?!i[sz])|api[_-]?key|access[_-]?key|private[_-]?key|credential"
    r"|(?<![a-z])auth(?![a-z])|session[_-]?key|cookie)[\w.-]*['\"]?"
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
        text = _SECRET_ASSIGNMENT.sub(rf"\g<name>\g<quote>{REDACTED}\g<quote>", text)
        return _SECRET_VALUE.sub(REDACTED, text)


def looks_secret(name: str) -> bool:
    """Whether a variable's name says its value is a credential."""
    return bool(SECRET_NAME.search(name))
