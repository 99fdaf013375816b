"""Building scripted model replies in the shape the agent is told to use."""


def code(text: str, thought: str = "Next step.") -> str:
    """A model reply: a short thought, then one python block."""
    return f"{thought}\n```python\n{text}\n```"
