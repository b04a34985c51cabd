"""Sweeps on Launch: ``launch-sweep`` stores a sweep and enqueues its scheduler; an
agent runs the scheduler (``scheduler.py``), which launches the trials into the
sweep's queue and reads their metrics. Everything it knows is in the store."""
