"""``jupyter agents run | replay | export``: agent notebooks from the terminal."""

from .entry_point import main

__all__ = ["main"]
