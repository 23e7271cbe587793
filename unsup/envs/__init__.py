"""Environments a learner acts in (games), simulated in NumPy: many players at once."""
