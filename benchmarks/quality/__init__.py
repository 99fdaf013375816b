"""The quality suite: data-analysis tasks answered by a real LLM, graded against references."""
