"""Reading a W&B sweep config: every parameter form W&B's schema has, the distribution
W&B infers when none is named, nested parameters, the top-level keys, and each
refusal as one line naming the file and the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from launch_core.errors import InvalidInput
from launch_core.sweeps.config import SweepConfig, load_sweep_config, parse_sweep_config
from launch_core.sweeps.parameters import Parameter, grid_values

BASE: dict[str, Any] = {"method": "random", "image_uri": "trainer:1",
                        "metric": {"name": "loss"}}
DROP = "<drop>"  # a key left out of BASE


def parse(**keys: Any) -> SweepConfig:
    return parse_sweep_config({**BASE, **keys}, "sweep.yaml")


def one(spec: dict[str, Any], **keys: Any) -> Parameter:
    [parameter] = parse(parameters={"p": spec}, **keys).parameters
    return parameter


def refused(**keys: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse(**keys)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("sweep.yaml: ")
    assert caught.value.exit_code == 2
    return message


@pytest.mark.parametrize(("spec", "kind"), [
    ({"value": 3}, "constant"),
    ({"value": {"a": [1, 2]}, "distribution": "constant"}, "constant"),
    ({"values": [1, "two", None]}, "categorical"),
    ({"values": [1, 2], "distribution": "categorical"}, "categorical"),
    ({"values": [1, 2], "probabilities": [0.25, 0.75]}, "categorical_w_probabilities"),
    ({"values": [1, 2], "probabilities": [0.5, 0.5],
      "distribution": "categorical_w_probabilities"}, "categorical_w_probabilities"),
    ({"min": 1, "max": 10}, "int_uniform"),  # integers: W&B infers int_uniform
    ({"min": 1, "max": 10.0}, "uniform"),  # a float: uniform
    ({"min": 0.5, "max": 2}, "uniform"),
    ({"min": 1, "max": 10, "distribution": "uniform"}, "uniform"),
    ({"min": 1, "max": 10, "distribution": "int_uniform"}, "int_uniform"),
    ({"min": 0, "max": 1, "q": 0.1, "distribution": "q_uniform"}, "q_uniform"),
    ({"min": -5, "max": 0, "distribution": "log_uniform"}, "log_uniform"),
    ({"min": 1e-5, "max": 1, "distribution": "log_uniform_values"}, "log_uniform_values"),
    ({"min": 0, "max": 7, "q": 2, "distribution": "q_log_uniform"}, "q_log_uniform"),
    ({"min": 1, "max": 1000, "distribution": "q_log_uniform_values"}, "q_log_uniform_values"),
    ({"min": 0, "max": 5, "distribution": "inv_log_uniform"}, "inv_log_uniform"),
    ({"min": 0.1, "max": 5, "distribution": "inv_log_uniform_values"},
     "inv_log_uniform_values"),
    ({"distribution": "normal"}, "normal"),
    ({"distribution": "q_normal", "mu": 5, "sigma": 2, "q": 1}, "q_normal"),
    ({"distribution": "log_normal", "mu": 1, "sigma": 0.5}, "log_normal"),
    ({"distribution": "q_log_normal", "q": 0.5}, "q_log_normal"),
])
def test_every_wandb_parameter_form_is_read(spec: dict[str, Any], kind: str) -> None:
    assert one(spec).distribution == kind


def test_wandb_defaults_fill_what_a_form_leaves_out() -> None:
    normal = one({"distribution": "q_normal"})
    assert (normal.mu, normal.sigma, normal.q) == (0.0, 1.0, 1.0)
    values = one({"values": [1, 2], "probabilities": [0.25, 0.75]})
    assert values.values == (1, 2) and values.probabilities == (0.25, 0.75)


def test_nested_parameters_keep_their_path_in_document_order() -> None:
    config = parse(parameters={
        "epochs": {"value": 3},
        "optimizer": {"parameters": {
            "lr": {"min": 0.001, "max": 0.1},
            "betas": {"parameters": {"b1": {"values": [0.9, 0.99]}}}}},
        "model.depth": {"values": [2, 4]}})  # W&B allows dots in a name
    assert [(p.path, p.name) for p in config.parameters] == [
        (("epochs",), "epochs"), (("optimizer", "lr"), "optimizer/lr"),
        (("optimizer", "betas", "b1"), "optimizer/betas/b1"),
        (("model.depth",), "model.depth")]
    assert [p.name for p in config.searched] == ["optimizer/lr", "optimizer/betas/b1",
                                                 "model.depth"]


def test_the_top_level_keys_are_kept() -> None:
    config = parse_sweep_config({
        "method": "bayes", "job": "team/trainer:v3", "name": "lr-search",
        "description": "d", "program": "train.py", "entity": "team", "project": "p",
        "metric": {"name": "val.loss", "goal": "maximize", "target": 0.9,
                   "impute": "best", "impute_while_running": "worst"},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}}, "run_cap": 20,
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2},
        "scheduler": {"num_workers": "4"}, "command": ["${program}", "${args}"],
        "launch": {"queue": "gpus"}, "kind": "sweep", "apiVersion": "v1"}, "s.yaml")
    assert (config.method, config.job, config.image_uri, config.run_cap) == \
        ("bayes", "team/trainer:v3", None, 20)
    assert (config.name, config.program, config.entity, config.project) == \
        ("lr-search", "train.py", "team", "p")
    assert config.metric is not None
    assert (config.metric.name, config.metric.goal, config.metric.target) == \
        ("val.loss", "maximize", 0.9)
    assert (config.metric.impute, config.metric.impute_while_running) == ("best", "worst")
    assert config.early_terminate is not None
    assert (config.early_terminate.first_band, config.early_terminate.eta) == (3, 2)
    assert config.num_workers == 4  # W&B reads a string of digits too
    assert config.command == ("${program}", "${args}")
    assert config.launch == {"queue": "gpus"}
    assert config.warnings == ()


def test_defaults_are_wandbs() -> None:
    config = parse(parameters={"a": {"value": 1}})
    assert config.metric is not None and config.metric.goal == "minimize"
    assert (config.metric.impute, config.metric.impute_while_running) == ("worst", "false")
    assert config.num_workers == 8 and config.run_cap is None and config.command is None


@pytest.mark.parametrize(("early", "first_band"), [
    ({"min_iter": 3}, 3),
    ({"max_iter": 27, "s": 2}, 3),  # 27 / 3 / 3
    ({"max_iter": 100, "s": 3}, 3),  # int(100 / 27): W&B's arithmetic
    ({"max_iter": 100, "s": 2, "eta": 2.0}, 25),
    ({"max_iter": 10, "s": 5}, 1),  # bands below 1 are dropped, as W&B drops them
])
def test_hyperband_first_band_is_wandbs(early: dict[str, Any], first_band: int) -> None:
    config = parse(early_terminate={"type": "hyperband", **early},
                   parameters={"a": {"values": [1]}})
    assert config.early_terminate is not None
    assert config.early_terminate.first_band == first_band


def test_deprecated_exponent_forms_and_placement_keys_warn() -> None:
    config = parse(parameters={"lr": {"distribution": "log_uniform", "min": -9, "max": -1}},
                   scheduler={"num_workers": 2, "resource": "local-container",
                              "docker_image": "x"},
                   controller={"type": "local"})
    assert len(config.warnings) == 4
    assert "parameters.lr: log_uniform takes min and max as natural-log exponents" in \
        config.warnings[0]
    assert all(w.startswith("sweep.yaml: ") for w in config.warnings)


def test_a_grid_lists_wandbs_points() -> None:
    config = parse(method="grid", parameters={
        "a": {"values": ["x", "y"]}, "b": {"min": 1, "max": 3},
        "c": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
        "d": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 5},
        "e": {"distribution": "q_uniform", "min": 0, "max": 0.3, "q": 0.1},
        "f": {"value": 7}})
    assert [grid_values(p) for p in config.parameters] == [
        ("x", "y"), (1, 2, 3), (0.0, 0.25, 0.5, 0.75), (0, 5), (0.0, 0.1, 0.2), (7,)]


def test_a_file_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("method: grid\nimage_uri: x\nparameters:\n  lr:\n    min: 0.1\n"
                    "    max: 1.0\n")
    with pytest.raises(InvalidInput) as caught:
        load_sweep_config(str(path), "SWEEP")
    assert str(caught.value) == (
        f"SWEEP ({path}): parameters.lr: grid search takes value, values (without "
        "probabilities), int_uniform or q_uniform, not uniform")
    path.write_text("method: random\nimage_uri: x\nparameters: {a: {values: [1]}}\n")
    assert load_sweep_config(str(path), "SWEEP").method == "random"


def test_inline_yaml_is_read() -> None:
    config = load_sweep_config('{"method": "grid", "job": "j", '
                               '"parameters": {"a": {"values": [1, 2]}}}', "SWEEP")
    assert config.job == "j" and config.metric is None


@pytest.mark.parametrize(("keys", "message"), [
    ({"method": DROP}, "method: a sweep needs a method (grid, random, bayes)"),
    ({"method": "custom"}, "method: custom needs a custom scheduler"),
    ({"method": "hyperopt"}, "method: 'hyperopt' is not one of grid, random, bayes"),
    ({"metrics": [{"name": "a"}, {"name": "b"}]}, "metrics: several metrics need"),
    ({"parameters": None}, "parameters: must be a non-empty mapping"),
    ({"parameters": {}}, "parameters: must be a non-empty mapping"),
    ({"parameters": {"1lr": {"value": 1}}}, "parameters: parameter name '1lr' must match"),
    ({"parameters": {"a": 3}}, "parameters.a: must be a mapping"),
    ({"parameters": {"a": {"mu": 1}}}, "parameters.a: give value, values, min and max"),
    ({"parameters": {"a": {"min": 1}}}, "parameters.a: give value, values, min and max"),
    ({"parameters": {"a": {"values": []}}}, "parameters.a.values: must be a non-empty list"),
    ({"parameters": {"a": {"values": 3}}}, "parameters.a.values: must be a non-empty list"),
    ({"parameters": {"a": {"value": 1, "min": 0}}},
     "parameters.a: key 'min' does not belong to distribution constant"),
    ({"parameters": {"a": {"min": 0, "max": 1, "q": 0.1}}},
     "parameters.a: key 'q' does not belong to distribution int_uniform (it takes "
     "distribution, max, min)"),
    ({"parameters": {"a": {"distribution": "uniform", "min": 0}}},
     "parameters.a: distribution uniform needs 'max'"),
    ({"parameters": {"a": {"distribution": "int_uniform", "min": 0.5, "max": 2}}},
     "parameters.a: int_uniform needs integer min and max"),
    ({"parameters": {"a": {"min": 2, "max": 2}}}, "parameters.a: min 2 is not less than max 2"),
    ({"parameters": {"a": {"min": "0", "max": 1}}}, "parameters.a.min: must be a number"),
    ({"parameters": {"a": {"distribution": "uniform", "min": "0", "max": 1}}},
     "parameters.a.min: must be a number"),
    ({"parameters": {"a": {"distribution": "uniform", "min": True, "max": 1}}},
     "parameters.a.min: must be a number"),
    ({"parameters": {"a": {"distribution": "log_uniform_values", "min": 0, "max": 1}}},
     "parameters.a.min: log_uniform_values needs min > 0"),
    ({"parameters": {"a": {"distribution": "log_uniform", "min": 0, "max": 800}}},
     "parameters.a: log_uniform takes min and max as natural-log exponents"),
    ({"parameters": {"a": {"distribution": "log_normal", "mu": 690, "sigma": 2}}},
     "parameters.a: log_normal draws exp(mu ± 6 sigma)"),
    ({"parameters": {"a": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}}},
     "parameters.a.q: must be greater than 0"),
    ({"parameters": {"a": {"distribution": "normal", "sigma": -1}}},
     "parameters.a.sigma: must not be negative"),
    ({"parameters": {"a": {"distribution": "beta"}}},
     "parameters.a.distribution: relaunch does not support the beta distribution"),
    ({"parameters": {"a": {"distribution": "q_beta", "q": 1}}},
     "parameters.a.distribution: relaunch does not support the q_beta distribution"),
    ({"parameters": {"a": {"distribution": "cauchy"}}},
     "parameters.a.distribution: 'cauchy' is not one of constant, categorical"),
    ({"parameters": {"a": {"values": [1, 2], "probabilities": [0.5]}}},
     "parameters.a.probabilities: must be a list of 2 numbers, one per value"),
    ({"parameters": {"a": {"values": [1, 2], "probabilities": [0.5, 0.6]}}},
     "parameters.a.probabilities: must sum to 1 (they sum to 1.1)"),
    ({"parameters": {"a": {"values": [1, 2], "probabilities": [1.5, -0.5]}}},
     "parameters.a.probabilities: must not be negative"),
    ({"parameters": {"o": {"parameters": {"lr": {"min": 1}}}}},
     "parameters.o.parameters.lr: give value, values"),
    ({"parameters": {"o": {"parameters": {"lr": {"value": 1}}, "value": 2}}},
     "parameters.o: a nested parameter has only 'parameters' (found 'value')"),
    ({"parameters": {"o": {"parameters": {}}}},
     "parameters.o.parameters: must be a non-empty mapping"),
    ({"metric": None}, "metric: must be a mapping with a name"),
    ({"metric": {"goal": "minimize"}}, "metric.name: a metric needs a name"),
    ({"metric": {"name": "loss", "goal": "lower"}}, "metric.goal: must be minimize or maximize"),
    ({"metric": {"name": "loss", "target": "low"}}, "metric.target: must be a number"),
    ({"metric": {"name": "loss", "impute": "mean"}}, "metric.impute: must be worst, best"),
    ({"metric": {"name": "loss", "impute_while_running": "latest"}},
     "metric.impute_while_running: relaunch imputes running trials only as worst"),
    ({"metric": {"name": "loss", "weight": 2}}, "metric.weight: unknown key of a metric"),
    ({"run_cap": 0}, "run_cap: must be a positive integer"),
    ({"run_cap": 2.5}, "run_cap: must be a positive integer"),
    ({"early_terminate": {"type": "median"}}, "early_terminate.type: must be hyperband"),
    ({"early_terminate": {"type": "hyperband"}},
     "early_terminate: give min_iter, or max_iter and s"),
    ({"early_terminate": {"type": "hyperband", "max_iter": 9}},
     "early_terminate: give min_iter, or max_iter and s"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 1, "max_iter": 9, "s": 2}},
     "early_terminate: give min_iter, or max_iter and s, not both"),
    ({"early_terminate": {"type": "hyperband", "max_iter": 2, "s": 2}},
     "early_terminate: max_iter / eta is below 1"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 2.5}},
     "early_terminate.eta: must be an integer of at least 2"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 3, "strict": False}},
     "early_terminate.strict: only true"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 0}},
     "early_terminate.min_iter: must be a positive integer"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 3, "bands": [1]}},
     "early_terminate.bands: unknown key"),
    ({"scheduler": {"num_workers": 0}}, "scheduler.num_workers: must be a positive integer"),
    ({"scheduler": {"job": "team/optuna-scheduler:latest"}},
     "scheduler.job: relaunch does not run a scheduler job"),
    ({"scheduler": {"settings": {"method": "bayes"}}},
     "scheduler.settings: relaunch does not run W&B's Optuna-scheduler settings"),
    ({"scheduler": {"engine": "optuna"}}, "scheduler.engine: relaunch does not run"),
    ({"scheduler": {"workers": 2}}, "scheduler.workers: unknown key"),
    ({"image_uri": DROP}, "job, image_uri: give exactly one"),
    ({"job": "team/trainer:v1"}, "job, image_uri: give exactly one"),
    ({"image_uri": ""}, "image_uri: must be a non-empty string"),
    ({"command": "python train.py"}, "command: must be a non-empty list"),
    ({"command": ["python", ["x"]]}, "command[1]: must be a string"),
    ({"command": ["${interpreter}", "${program}"]},
     "command: ${program} needs the config's program"),
    ({"command": ["python", "${script}"]}, "command: unknown macro ${script}"),
    ({"command": ["python", "--cfg=${args_json}"]},
     "command: ${args_json} must be a word of its own"),
    ({"command": ["python", "${args}", "${args_json}"]},
     "command: give at most one ${args...} macro"),
    ({"kind": "job"}, "kind: must be sweep"),
    ({"parameterz": {}}, "parameterz: unknown key of a sweep config"),
    ({"name": 3}, "name: must be a non-empty string"),
    ({"launch": []}, "launch: must be a mapping"),
    ({"method": "bayes", "metric": None}, "metric: must be a mapping"),
])
def test_refusals_name_the_key(keys: dict[str, Any], message: str) -> None:
    doc = {key: value for key, value in
           {**BASE, "parameters": {"a": {"values": [1, 2]}}, **keys}.items() if value != DROP}
    with pytest.raises(InvalidInput) as caught:
        parse_sweep_config(doc, "sweep.yaml")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"sweep.yaml: {message}"), str(caught.value)


@pytest.mark.parametrize(("keys", "message"), [
    ({"method": "bayes", "metric": DROP}, "metric: bayes search needs a metric"),
    ({"early_terminate": {"type": "hyperband", "min_iter": 2}, "metric": DROP},
     "metric: early_terminate needs a metric"),
    ({"method": "grid", "parameters": {"a": {"values": [1, 2], "probabilities": [.5, .5]}}},
     "parameters.a: grid search takes value, values (without probabilities)"),
    ({"method": "grid", "parameters": {"a": {"distribution": "normal"}}},
     "parameters.a: grid search takes value, values"),
    ({"method": "grid", "parameters": {"a": {"min": 0, "max": 10**6},
                                       "b": {"values": list(range(1000))}}},
     "parameters: the grid has more than 100000 points"),
])
def test_method_refusals(keys: dict[str, Any], message: str) -> None:
    doc = {key: value for key, value in
           {**BASE, "parameters": {"a": {"values": [1, 2]}}, **keys}.items() if value != DROP}
    with pytest.raises(InvalidInput) as caught:
        parse_sweep_config(doc, "sweep.yaml")
    assert str(caught.value).startswith(f"sweep.yaml: {message}"), str(caught.value)


def test_non_json_data_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a finite number"):
        parse(parameters={"a": {"min": 0, "max": float("inf")}})


def test_numbers_past_float_are_refused_not_a_traceback() -> None:
    huge = int("1" + "0" * 400)
    assert "parameters.a.max: must be a finite number" in refused(
        parameters={"a": {"min": 0, "max": huge}})
    assert "the grid has more than" in refused(method="grid", parameters={"a": {
        "distribution": "q_uniform", "min": 0, "max": 1e300, "q": 1e-300}})
