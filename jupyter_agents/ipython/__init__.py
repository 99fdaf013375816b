"""The IPython side: ``%agent`` and ``%%agent`` magics, their options, and making them awaited."""
