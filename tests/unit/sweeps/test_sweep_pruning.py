"""W&B's hyperband early termination on Optuna's HyperbandPruner: a trial worse than
the others at a band is stopped there, not before; a good one runs on; judgement
holds across a restart of the study."""

from __future__ import annotations

import json
from typing import Any

from launch_core.sweeps.config import parse_sweep_config
from launch_core.sweeps.sampler import SweepStudy, TrialRecord

GOOD = [(step, 1.0 / step) for step in range(1, 19)]  # loss falls with each report


def study(early: dict[str, Any], goal: str = "minimize",
          trials: list[TrialRecord] | None = None) -> SweepStudy:
    config = parse_sweep_config({
        "method": "random", "image_uri": "x", "metric": {"name": "loss", "goal": goal},
        "early_terminate": {"type": "hyperband", **early},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}}}, "sweep.yaml")
    return SweepStudy(config, seed=0, trials=trials or ())


def finish(sweep: SweepStudy, reports: list[tuple[int, float]]) -> int | None:
    """Run one trial through ``reports``; the step it was stopped at, or None."""
    trial = sweep.ask()
    assert trial is not None
    for count, (step, value) in enumerate(reports, start=1):
        if sweep.report(trial.number, [(step, value)]):
            sweep.prune(trial.number)
            return count
    sweep.tell(trial.number, reports[-1][1])
    return None


def test_a_bad_trial_is_stopped_at_the_first_band_and_a_good_one_runs_on() -> None:
    sweep = study({"min_iter": 2, "eta": 3})
    for _ in range(4):
        assert finish(sweep, GOOD) is None
    bad = [(step, 10.0) for step in range(1, 19)]
    assert finish(sweep, bad) == 2  # W&B's first band: the second report
    stopped = sweep.record(4)
    assert stopped.state == "pruned" and stopped.steps == {1: 10.0, 2: 10.0}
    better = [(step, 0.5 / step) for step in range(1, 19)]
    assert finish(sweep, better) is None


def test_a_trial_falling_behind_later_is_stopped_at_a_later_band() -> None:
    sweep = study({"max_iter": 18, "s": 2})  # bands 2, 6: max_iter / 3 / 3, then x3
    for _ in range(3):
        assert finish(sweep, GOOD) is None
    stalls = [(step, 1.0 / min(step, 3)) for step in range(1, 19)]  # good, then flat
    assert finish(sweep, stalls) == 6


def test_maximize_stops_the_lowest() -> None:
    sweep = study({"min_iter": 1, "eta": 2}, goal="maximize")
    assert finish(sweep, [(s, 0.9) for s in range(1, 5)]) is None
    assert finish(sweep, [(s, 0.1) for s in range(1, 5)]) == 1


def test_reports_given_at_once_are_judged_at_their_band() -> None:
    sweep = study({"min_iter": 2})
    for _ in range(3):
        finish(sweep, GOOD)
    trial = sweep.ask()
    assert trial is not None
    late_bloomer = [(1, 10.0), (2, 10.0), (3, 0.0001), (4, 0.0001)]
    assert sweep.report(trial.number, late_bloomer) is True  # bad at band 2
    assert sweep.record(trial.number).steps == {1: 10.0, 2: 10.0}


def test_no_early_terminate_never_stops() -> None:
    config = parse_sweep_config({"method": "random", "image_uri": "x",
                                 "metric": {"name": "loss"},
                                 "parameters": {"lr": {"min": 0.0, "max": 1.0}}}, "s.yaml")
    sweep = SweepStudy(config, seed=0)
    assert finish(sweep, GOOD) is None
    assert finish(sweep, [(s, 100.0) for s in range(1, 19)]) is None


def test_judgement_holds_across_a_restart() -> None:
    stalls = [(step, 1.0 / min(step, 3)) for step in range(1, 19)]

    def outcomes(restart: bool) -> list[bool]:
        sweep = study({"min_iter": 2})
        for _ in range(3):
            finish(sweep, GOOD)
        trial = sweep.ask()
        assert trial is not None
        answers = [sweep.report(trial.number, stalls[:4])]  # passes band 2
        if restart:
            stored = [TrialRecord.from_json(json.loads(json.dumps(r.to_json())))
                      for r in sweep.records()]
            sweep = study({"min_iter": 2}, trials=stored)
            # Optuna's note of the band passed, with the value there, came back
            assert sweep.record(trial.number).system["completed_rung_0"] == 0.5
        answers.append(sweep.report(trial.number, stalls))  # the steps seen are skipped
        return answers

    assert outcomes(restart=True) == outcomes(restart=False) == [False, True]
