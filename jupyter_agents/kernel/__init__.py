"""Executing an approved cell in the user's namespace: the executor, its output pipeline (capture
for the model, limits, redaction), time limits and interrupts, and how a turn ends in code."""
