"""Text helpers with no knowledge of agents: safe echoes, hidden characters, Markdown fences."""
