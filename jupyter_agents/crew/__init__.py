"""Role agents that own notebook sections and hand the work to each other."""
