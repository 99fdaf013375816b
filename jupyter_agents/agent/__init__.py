"""One agent turn: the CodeAct loop, model calls and retries, the reply parser, what the model is
told, and the checks on what it proposes."""
