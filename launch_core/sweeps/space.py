"""A sweep's search space in Optuna's terms, and back: each W&B parameter as the
Optuna distribution a sampler draws from, and a trial's Optuna params as the run
config W&B would give the run (nested parameters nested, constants included).

Optuna draws what it has a distribution for; the rest of W&B's distribution is the
same transform W&B applies to a uniform draw (its ``ppf``):

- ``values``: a categorical choice of the value's index (values may be any JSON);
  with ``probabilities``, a uniform draw in [0, 1] mapped through their cumulative
  sums (W&B's way);
- ``int_uniform``: an integer in [min, max]; ``uniform``: a float in [min, max];
- ``log_uniform_values`` and ``inv_log_uniform_values``: a log-scale float in
  [min, max] (W&B draws both so); ``log_uniform``: in [e^min, e^max];
  ``inv_log_uniform``: in [e^-max, e^-min];
- ``normal``, ``log_normal``: a quantile in [1e-9, 1 - 1e-9] through the normal's
  inverse CDF (then ``exp`` for log_normal);
- ``q_*``: the same draw, rounded to a multiple of ``q`` (an integer when ``q`` is);
- grid search: the index of each point of W&B's grid (``grid_values``).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from launch_core.sweeps.config import SweepConfig
from launch_core.sweeps.parameters import Parameter, grid_count, grid_values, tidy

QUANTILE = 1e-9  # the normal forms' draws stay within ±6 sigma


def grid_space(config: SweepConfig) -> dict[str, list[int]]:
    """GridSampler's search space: each parameter's point indices."""
    return {p.name: list(range(grid_count(p))) for p in config.searched}


def distributions(config: SweepConfig) -> dict[str, BaseDistribution]:
    """The Optuna distribution of each searched parameter, by its flat name."""
    if config.method == "grid":
        return {name: CategoricalDistribution(tuple(indices))
                for name, indices in grid_space(config).items()}
    return {p.name: distribution(p) for p in config.searched}


def distribution(parameter: Parameter) -> BaseDistribution:
    kind, low, high = parameter.distribution, parameter.min, parameter.max
    if kind == "categorical":
        return CategoricalDistribution(tuple(range(len(parameter.values))))
    if kind == "categorical_w_probabilities":
        return FloatDistribution(0.0, 1.0)
    if kind == "int_uniform":
        return IntDistribution(int(low), int(high))
    if kind in ("uniform", "q_uniform"):
        return FloatDistribution(float(low), float(high))
    if kind in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        return FloatDistribution(float(low), float(high), log=True)
    if kind in ("log_uniform", "q_log_uniform"):
        return FloatDistribution(math.exp(low), math.exp(high), log=True)
    if kind == "inv_log_uniform":
        return FloatDistribution(math.exp(-high), math.exp(-low), log=True)
    return FloatDistribution(QUANTILE, 1.0 - QUANTILE)  # the normal forms: a quantile


def run_config(config: SweepConfig, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run config of a trial whose Optuna params are ``params``."""
    result: dict[str, Any] = {}
    for parameter in config.parameters:
        if parameter.distribution == "constant":
            value = parameter.value
        elif config.method == "grid":
            value = grid_values(parameter)[params[parameter.name]]
        else:
            value = value_of(parameter, params[parameter.name])
        node = result
        for name in parameter.path[:-1]:
            node = node.setdefault(name, {})
        node[parameter.path[-1]] = value
    return result


def value_of(parameter: Parameter, drawn: Any) -> Any:
    """The W&B value of a parameter that Optuna drew as ``drawn``."""
    kind = parameter.distribution
    if kind == "categorical":
        return parameter.values[drawn]
    if kind == "categorical_w_probabilities":
        return parameter.values[_pick(parameter.probabilities, drawn)]
    if kind in ("normal", "q_normal", "log_normal", "q_log_normal"):
        drawn = _normal(parameter, drawn)
        if kind.endswith("log_normal"):
            drawn = math.exp(drawn)
    if kind.startswith("q_"):
        return quantize(drawn, parameter.q)
    return drawn


def _pick(probabilities: tuple[float, ...], drawn: float) -> int:
    """The index whose share of [0, 1] holds ``drawn`` (never a zero-probability one)."""
    cumulative = list(itertools.accumulate(probabilities))
    index = bisect.bisect_right(cumulative, drawn)
    while index >= len(probabilities) or probabilities[index] == 0:
        index -= 1  # drawn at the very top (1.0, or past a rounded sum)
    return index


def _normal(parameter: Parameter, quantile: float) -> float:
    if parameter.sigma == 0:
        return float(parameter.mu)
    return NormalDist(parameter.mu, parameter.sigma).inv_cdf(quantile)


def quantize(value: float, q: int | float) -> int | float:
    """``value`` rounded to a multiple of ``q`` as W&B rounds it (half to even): an
    integer when ``q`` is one."""
    ratio = value / q
    if not math.isfinite(ratio):
        return value
    steps = round(ratio)
    return steps * q if isinstance(q, int) else tidy(steps * q)
