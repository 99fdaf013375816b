"""``!pip`` in a proposed cell becomes ``%pip``: installs go to the kernel's environment.

``!pip install x`` runs whatever ``pip`` is first on PATH. In a kernel started from another
environment that installs into another Python: it answers "already satisfied" while the
kernel still cannot import the package (seen with a real model, three times in a row).
IPython's ``%pip`` magic runs pip with the kernel's own interpreter. So the proposal is shown
to the person, and run, in the ``%pip`` form, and the step says why it differs from what the
model wrote. The risk review flags ``%pip`` installs as it flags ``!pip`` ones.
"""

from __future__ import annotations

import re

# A shell escape at the start of a line that runs pip: !pip, !pip3, !python -m pip, ...
_SHELL_PIP = re.compile(
    r"^(?P<indent>[ \t]*)!\s*(?:pip3?|python(?:3(?:\.\d+)?)?\s+-m\s+pip)(?=\s)", re.MULTILINE
)

#: Shown on the step when its cell was changed.
NOTE = (
    "`!pip` was changed to `%pip`, which installs into this kernel's environment "
    "(`!pip` may install into another Python)."
)


def pip_in_kernel(code: str) -> str:
    """``code`` with each ``!pip ...`` line written as ``%pip ...``."""
    return _SHELL_PIP.sub(lambda match: f"{match.group('indent')}%pip", code)
