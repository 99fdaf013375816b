"""What stands between the model and the kernel: the risk review of a proposed cell, the
approval gate, and keeping secrets out of what the model and the notebook see."""
