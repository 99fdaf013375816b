"""A run's lifecycle: settings, the kernel session, starting or replaying a run, and the Python
API (``Agent``)."""
