"""The data types every layer uses: steps, usage, statuses, run results, observations, risk
flags and errors. Imports nothing of the package above it, so every other part may use it."""
