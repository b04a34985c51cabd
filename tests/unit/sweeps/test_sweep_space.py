"""Each W&B distribution drawn through Optuna: the values land where W&B's would
(ranges, log ranges, multiples of q, integer types, probabilities), and nested
parameters come out nested in the run config."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

import pytest

from launch_core.sweeps.config import parse_sweep_config
from launch_core.sweeps.parameters import Parameter
from launch_core.sweeps.sampler import SweepStudy
from launch_core.sweeps.space import quantize, value_of

DRAWS = 300


def draws(spec: dict[str, Any], seed: int = 0) -> list[Any]:
    config = parse_sweep_config({"method": "random", "image_uri": "x", "run_cap": DRAWS,
                                 "parameters": {"p": spec}}, "sweep.yaml")
    study = SweepStudy(config, seed=seed)
    found = []
    while (trial := study.ask()) is not None:
        found.append(trial.config["p"])
        study.tell(trial.number, 0.0)
    return found


def is_multiple(value: float, q: float) -> bool:
    return math.isclose(value / q, round(value / q), abs_tol=1e-9)


def test_int_uniform_draws_every_integer_of_its_closed_range() -> None:
    found = draws({"min": 1, "max": 4})
    assert all(type(v) is int for v in found) and set(found) == {1, 2, 3, 4}


def test_uniform_draws_floats_in_range() -> None:
    found = draws({"min": 2, "max": 3, "distribution": "uniform"})
    assert all(isinstance(v, float) and 2 <= v <= 3 for v in found)


def test_q_uniform_rounds_to_multiples_of_q() -> None:
    found = draws({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25})
    assert set(found) <= {0.0, 0.25, 0.5, 0.75, 1.0} and len(set(found)) == 5
    assert all(isinstance(v, float) for v in found)
    integers = draws({"distribution": "q_uniform", "min": 0, "max": 100, "q": 10})
    assert all(type(v) is int and v % 10 == 0 for v in integers)


@pytest.mark.parametrize(("spec", "low", "high"), [
    ({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1}, 1e-4, 1e-1),
    ({"distribution": "inv_log_uniform_values", "min": 1e-4, "max": 1e-1}, 1e-4, 1e-1),
    ({"distribution": "log_uniform", "min": -9, "max": -2}, math.exp(-9), math.exp(-2)),
    ({"distribution": "inv_log_uniform", "min": 2, "max": 9}, math.exp(-9), math.exp(-2)),
])
def test_log_forms_are_uniform_in_the_log(spec: dict[str, Any], low: float,
                                          high: float) -> None:
    found = draws(spec)
    assert all(low * (1 - 1e-9) <= v <= high * (1 + 1e-9) for v in found)
    logs = [math.log(v) for v in found]  # uniform on the log scale: the middle is the mean
    middle = (math.log(low) + math.log(high)) / 2
    assert abs(statistics.mean(logs) - middle) < 0.1 * (math.log(high) - math.log(low))


def test_q_log_forms_round_the_log_draw() -> None:
    found = draws({"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 5})
    assert all(type(v) is int and v % 5 == 0 and 0 <= v <= 1000 for v in found)
    floats = draws({"distribution": "q_log_uniform", "min": 0, "max": 3})  # q 1.0: floats
    assert all(isinstance(v, float) and v.is_integer() and 1 <= v <= 20 for v in floats)


def test_normal_forms_follow_mu_and_sigma() -> None:
    normal = draws({"distribution": "normal", "mu": 10, "sigma": 2})
    assert abs(statistics.mean(normal) - 10) < 0.5 and 1.6 < statistics.stdev(normal) < 2.4
    log_normal = draws({"distribution": "log_normal", "mu": 1, "sigma": 0.5})
    logs = [math.log(v) for v in log_normal]
    assert abs(statistics.mean(logs) - 1) < 0.15 and 0.4 < statistics.stdev(logs) < 0.6
    quantized = draws({"distribution": "q_normal", "mu": 0, "sigma": 3, "q": 2})
    assert all(type(v) is int and v % 2 == 0 for v in quantized)
    q_log = draws({"distribution": "q_log_normal", "mu": 2, "sigma": 1, "q": 0.5})
    assert all(is_multiple(v, 0.5) and v >= 0 for v in q_log)


def test_probabilities_weigh_the_values_and_a_zero_is_never_drawn() -> None:
    found = Counter(draws({"values": ["a", "b", "c"], "probabilities": [0.2, 0, 0.8]}))
    assert found["b"] == 0
    assert 0.1 < found["a"] / DRAWS < 0.3 and 0.7 < found["c"] / DRAWS < 0.9


def test_categorical_draws_every_value_of_any_json() -> None:
    found = draws({"values": [[1, 2], {"k": "v"}, "s"]})
    assert {repr(v) for v in found} == {"[1, 2]", "{'k': 'v'}", "'s'"}


def test_nested_parameters_and_constants_fill_a_nested_run_config() -> None:
    config = parse_sweep_config({
        "method": "random", "image_uri": "x", "parameters": {
            "epochs": {"value": 5},
            "optimizer": {"parameters": {"name": {"value": "adam"},
                                         "lr": {"min": 0.1, "max": 0.2},
                                         "betas": {"parameters": {"b1": {"values": [0.9]}}}}},
            "model.depth": {"values": [3]}}}, "sweep.yaml")
    trial = SweepStudy(config, seed=0).ask()
    assert trial is not None
    lr = trial.config["optimizer"]["lr"]
    assert 0.1 <= lr <= 0.2
    assert trial.config == {"epochs": 5, "optimizer": {"name": "adam", "lr": lr,
                                                       "betas": {"b1": 0.9}},
                            "model.depth": 3}
    assert set(trial.params) == {"optimizer/lr", "optimizer/betas/b1", "model.depth"}


def test_quantize_rounds_half_to_even_as_wandb() -> None:
    assert quantize(2.5, 1) == 2 and quantize(3.5, 1) == 4  # numpy's round
    assert quantize(0.30000000000000004, 0.1) == 0.3
    assert quantize(7.4, 1.0) == 7.0 and type(quantize(7.4, 1.0)) is float


def test_a_draw_at_the_very_top_picks_the_last_weighted_value() -> None:
    weighted = Parameter(("p",), "categorical_w_probabilities", values=("a", "b", "c"),
                         probabilities=(0.5, 0.5, 0.0))
    assert value_of(weighted, 1.0) == "b"
    assert value_of(weighted, 0.0) == "a"
    assert value_of(Parameter(("p",), "normal", mu=4, sigma=0), 0.3) == 4.0
