"""W&B's ``early_terminate: {type: hyperband}`` as Optuna's HyperbandPruner.

W&B stops a running trial at fixed bands: at its ``band``-th report of the metric,
the trial goes on only if its value there is among the best ``1/eta`` of every
trial's value at that band. The bands start at ``first_band`` (``min_iter``, or
``max_iter`` divided ``s`` times by ``eta``) and grow by ``eta``. All trials compete
in one pool. That is one bracket of Hyperband (successive halving), so relaunch gives
Optuna's HyperbandPruner ``min_resource = max_resource = first_band`` (one bracket)
and ``reduction_factor = eta``: its rungs are ``first_band * eta**k``. Optuna's rung
keeps a trial if its value is within the best ``len // eta`` of the values there (the
best alone while fewer than ``eta`` trials reached it); W&B's keeps it if within the
best ``int(len / eta) + 1``, so Optuna stops a little more. Optuna's rungs go on past
``max_iter``, where W&B's stop.

A step is the count of the metric's reports so far (1, 2, 3...), which is what W&B
counts, not the run's own ``_step``."""

from __future__ import annotations

import optuna
from optuna.pruners import BasePruner, HyperbandPruner, NopPruner

from launch_core.sweeps.config import Hyperband


def pruner(hyperband: Hyperband | None) -> BasePruner:
    """The pruner of a sweep: Hyperband as above, or none."""
    if hyperband is None:
        return NopPruner()
    return HyperbandPruner(min_resource=hyperband.first_band,
                           max_resource=hyperband.first_band,
                           reduction_factor=hyperband.eta)


def should_stop(trial: optuna.Trial, step: int, value: float) -> bool:
    """Record ``value`` as the trial's ``step``-th report; whether to stop it now."""
    trial.report(value, step)
    return trial.should_prune()
