"""How a run shows itself: the approval widget, or plain outputs where widgets are missing."""
