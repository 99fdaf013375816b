"""``python -m jupyter_agents.cli``: the same commands as the ``jupyter-agents`` entry point."""

import sys

from .entry_point import main

sys.exit(main())
