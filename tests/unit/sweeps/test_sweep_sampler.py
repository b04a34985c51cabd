"""The sweep's search on Optuna: grid hands out each point once and ends, random keeps
to its cap, bayes (TPE) finds a minimum faster than random, a failed trial gets W&B's
imputed value, and a study built again from its records after a restart goes on
without handing out a grid point twice."""

from __future__ import annotations

import json
from typing import Any

from launch_core.sweeps.config import SweepConfig, parse_sweep_config
from launch_core.sweeps.sampler import SweepStudy, TrialRecord


def config(method: str, parameters: dict[str, Any], **keys: Any) -> SweepConfig:
    return parse_sweep_config({"method": method, "image_uri": "trainer:1",
                               "metric": {"name": "loss"}, "parameters": parameters,
                               **keys}, "sweep.yaml")


def stored(study: SweepStudy) -> list[TrialRecord]:
    """The study's records as a store keeps them: through JSON."""
    return [TrialRecord.from_json(json.loads(json.dumps(r.to_json())))
            for r in study.records()]


def test_grid_hands_out_each_point_once_then_ends_and_finds_the_minimum() -> None:
    study = SweepStudy(config("grid", {"x": {"values": [5, -1, 2, 9]},
                                       "epochs": {"value": 3}}))
    seen = []
    while (trial := study.ask()) is not None:
        seen.append(trial.config["x"])
        assert trial.config["epochs"] == 3
        study.tell(trial.number, (trial.config["x"] - 1.5) ** 2)
    assert sorted(seen) == [-1, 2, 5, 9]
    assert study.exhausted and study.ask() is None
    best = study.best()
    assert best is not None and seen[best[0]] == 2 and best[1] == 0.25


def test_grid_points_in_flight_are_not_handed_out_again() -> None:
    study = SweepStudy(config("grid", {"x": {"values": [1, 2]}, "y": {"min": 1, "max": 2}}))
    trials = [study.ask() for _ in range(4)]
    assert study.ask() is None  # all four running: none left, though none finished
    assert sorted((t.config["x"], t.config["y"]) for t in trials if t) == \
        [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_grid_values_may_be_any_json() -> None:
    study = SweepStudy(config("grid", {"layers": {"values": [[64, 64], {"a": 1}, None]}}))
    seen = []
    while (trial := study.ask()) is not None:
        seen.append(trial.config["layers"])
        study.tell(trial.number, 1.0)
    assert sorted(map(json.dumps, seen)) == sorted(map(json.dumps, [[64, 64], {"a": 1}, None]))


def test_random_keeps_to_run_cap_and_a_seed_repeats_it() -> None:
    def draws(seed: int) -> list[float]:
        study = SweepStudy(config("random", {"lr": {"min": 0.0, "max": 1.0}}, run_cap=7),
                           seed=seed)
        found = []
        while (trial := study.ask()) is not None:
            found.append(trial.config["lr"])
            study.tell(trial.number, trial.config["lr"])
        return found

    assert len(draws(1)) == 7
    assert draws(1) == draws(1) != draws(2)


def best_of(method: str, seed: int, budget: int = 30) -> float:
    study = SweepStudy(config(method, {"x": {"min": -10.0, "max": 10.0}}, run_cap=budget),
                       seed=seed)
    while (trial := study.ask()) is not None:
        study.tell(trial.number, (trial.config["x"] - 3.7) ** 2)
    best = study.best()
    assert best is not None
    return best[1]


def test_bayes_beats_random_on_a_quadratic_in_the_same_budget() -> None:
    seeds = range(5)
    bayes = sum(best_of("bayes", seed) for seed in seeds) / len(seeds)
    random = sum(best_of("random", seed) for seed in seeds) / len(seeds)
    assert bayes < random / 3, (bayes, random)


def test_maximize_picks_the_largest() -> None:
    study = SweepStudy(config("grid", {"x": {"values": [1, 3, 2]}},
                              metric={"name": "acc", "goal": "maximize", "target": 3}))
    told = []
    while (trial := study.ask()) is not None:
        study.tell(trial.number, trial.config["x"])
        told.append(trial.config["x"])
        assert study.target_reached() == (3 in told)
    best = study.best()
    assert best is not None and best[1] == 3.0
    assert study.target_reached()


def test_bayes_imputes_wandbs_worst_for_a_failed_trial() -> None:
    study = SweepStudy(config("bayes", {"x": {"min": 0.0, "max": 1.0}}), seed=0)
    for value in (0.5, 2.0, None):
        trial = study.ask()
        assert trial is not None
        study.tell(trial.number, value)
    failed = study.record(2)
    assert (failed.state, failed.value, failed.imputed) == ("complete", 2.0, True)
    assert study.best() == (0, 0.5)


def test_bayes_imputes_the_latest_report_when_asked() -> None:
    study = SweepStudy(config("bayes", {"x": {"min": 0.0, "max": 1.0}},
                              metric={"name": "loss", "impute": "latest"}), seed=0)
    trial = study.ask()
    assert trial is not None
    assert study.report(trial.number, [(1, 0.9), (2, 0.7)]) is False
    study.tell(trial.number, None)
    assert study.record(trial.number).value == 0.7
    assert study.best() is None  # imputed values are never the best


def test_random_and_grid_record_a_failure_as_failed() -> None:
    study = SweepStudy(config("random", {"x": {"min": 0.0, "max": 1.0}}))
    trial = study.ask()
    assert trial is not None
    study.tell(trial.number, None)
    assert study.record(0).state == "failed" and study.record(0).value is None


def test_a_restarted_grid_never_repeats_a_point() -> None:
    grid = config("grid", {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]},
                           "c": {"min": 0, "max": 1}})
    first = SweepStudy(grid, seed=7)
    handed = []
    for outcome in (1.0, None, 3.0, "running", "running"):
        trial = first.ask()
        assert trial is not None
        handed.append(trial.config)
        if outcome != "running":
            first.tell(trial.number, outcome)  # type: ignore[arg-type]
    records = stored(first)
    assert [r.state for r in records] == ["complete", "failed", "complete", "running",
                                          "running"]

    second = SweepStudy(grid, seed=7, trials=records)
    assert second.running == [3, 4]
    second.tell(3, 0.5)  # a trial that ran across the restart ends
    while (trial := second.ask()) is not None:
        handed.append(trial.config)
        second.tell(trial.number, 2.0)
    second.tell(4, 4.0)
    keys = [json.dumps(c, sort_keys=True) for c in handed]
    assert len(keys) == 12 and len(set(keys)) == 12  # every point once
    assert second.best() == (3, 0.5)


def test_a_missing_record_leaves_its_point_to_be_handed_out_later() -> None:
    grid = config("grid", {"a": {"values": [1, 2, 3, 4]}})
    first = SweepStudy(grid)
    trials = [first.ask() for _ in range(3)]
    for trial in trials:
        assert trial is not None
        first.tell(trial.number, 1.0)
    kept = [r for r in stored(first) if r.number != 1]  # trial 1 was never stored

    second = SweepStudy(grid, trials=kept)
    handed = [t.config["a"] for t in (trials[0], trials[2]) if t]
    while (trial := second.ask()) is not None:
        handed.append(trial.config["a"])
        second.tell(trial.number, 1.0)
    assert sorted(handed) == [1, 2, 3, 4]
    assert [r.number for r in second.records()] == [0, 2, 3, 4]


def test_a_restarted_random_sweep_keeps_its_cap_and_does_not_replay_draws() -> None:
    sweep = config("random", {"lr": {"min": 0.0, "max": 1.0}}, run_cap=6)
    first = SweepStudy(sweep, seed=3)
    drawn = []
    for _ in range(3):
        trial = first.ask()
        assert trial is not None
        drawn.append(trial.config["lr"])
        first.tell(trial.number, trial.config["lr"])
    second = SweepStudy(sweep, seed=3, trials=stored(first))
    while (trial := second.ask()) is not None:
        drawn.append(trial.config["lr"])
        second.tell(trial.number, 1.0)
    assert len(drawn) == 6 and len(set(drawn)) == 6
