"""A sweep's ``command`` filled in for a trial as W&B Launch's scheduler fills it:
each ``${args...}`` form, ``${program}``, ``${env}``, ``${interpreter}`` and
``${envvar:NAME}``."""

from __future__ import annotations

import json

import pytest

from launch_core.sweeps.command import check_command, trial_command

CONFIG = {"lr": 0.1, "fast": True, "slow": False, "opt": {"b1": 0.9}}


@pytest.mark.parametrize(("macro", "words"), [
    ("${args}", ["--lr=0.1", "--fast=True", "--slow=False", "--opt={'b1': 0.9}"]),
    ("${args_no_equals}", ["--lr", "0.1", "--fast", "True", "--slow", "False", "--opt",
                           "{'b1': 0.9}"]),
    ("${args_no_hyphens}", ["lr=0.1", "fast=True", "slow=False", "opt={'b1': 0.9}"]),
    ("${args_no_boolean_flags}", ["--lr=0.1", "--fast", "--opt={'b1': 0.9}"]),
    ("${args_json}", [json.dumps(CONFIG)]),
    ("${args_append_hydra}", ["+lr=0.1", "+fast=True", "+slow=False", "+opt={'b1': 0.9}"]),
    ("${args_override_hydra}", ["++lr=0.1", "++fast=True", "++slow=False",
                                "++opt={'b1': 0.9}"]),
])
def test_each_args_macro_writes_the_parameters_in_its_place(macro: str,
                                                              words: list[str]) -> None:
    command = ["${env}", "${interpreter}", "${program}", macro, "--seed=1"]
    assert check_command(command, "train.py") is None
    assert trial_command(command, "train.py", CONFIG, {}) == \
        ["/usr/bin/env", "python", "train.py", *words, "--seed=1"]


def test_envvar_comes_from_the_environment_or_stays_its_name() -> None:
    command = ["${envvar:PYTHON}", "--out=${envvar:OUT}/run", "${envvar:MISSING}"]
    assert check_command(command, None) is None
    assert trial_command(command, None, {}, {"PYTHON": "python3.11", "OUT": "/tmp/o"}) == \
        ["python3.11", "--out=/tmp/o/run", "MISSING"]


def test_a_command_without_macros_is_kept() -> None:
    assert trial_command(["python", "train.py"], None, CONFIG, {}) == ["python", "train.py"]
