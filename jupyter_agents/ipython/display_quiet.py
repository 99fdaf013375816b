"""Keep IPython's trailing-``;`` check from failing on an agent cell that does not tokenize.

IPython decides whether to show a cell's value by tokenizing the *last cell in history* and
looking for a trailing ``;``. Agent cells run inside the ``%agent`` cell and enter history
after it, so when the run returns its answer that last cell is the agent's; if the model wrote
broken code (an unterminated string), tokenizing it raises ``TokenError`` and the ``%agent``
cell fails after the run, its answer lost. A cell that does not tokenize has no trailing
``;``, so the check answers "not quiet" for it instead.
"""

from __future__ import annotations

import tokenize
from typing import Any

#: What IPython's tokenizer raises on a cell that is not complete Python.
_UNTOKENIZABLE = (tokenize.TokenError, SyntaxError)


def tolerate_broken_last_cell(shell: Any) -> None:
    """Wrap ``shell.displayhook.quiet`` (once) so a broken last cell means "not quiet"."""
    hook = shell.displayhook
    if getattr(hook.quiet, "_jupyter_agents_original", None) is not None:
        return
    original = hook.quiet

    def quiet() -> bool:
        try:
            return bool(original())
        except _UNTOKENIZABLE:
            return False

    quiet._jupyter_agents_original = original  # type: ignore[attr-defined]
    hook.quiet = quiet


def restore_quiet(shell: Any) -> None:
    original = getattr(shell.displayhook.quiet, "_jupyter_agents_original", None)
    if original is not None:
        shell.displayhook.quiet = original
