"""Sweeps: W&B's sweep config, its search run by Optuna (grid, random, TPE for bayes,
Hyperband early termination), and each trial's metric read from its output."""
