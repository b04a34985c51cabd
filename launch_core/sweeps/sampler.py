"""A sweep's search: an Optuna study in memory, asked for each trial's parameters and
told each trial's metric. ``grid`` is Optuna's GridSampler over W&B's grid points,
``random`` its RandomSampler, ``bayes`` its TPESampler; ``early_terminate`` its
HyperbandPruner (pruning.py). The space is space.py's.

The scheduler keeps the trials: it stores ``record(number)`` after each call that
changes a trial, and after a restart builds the study again from those records
(``SweepStudy(config, seed=..., trials=records)``). A trial keeps its number and
Optuna's own notes on it (its grid point, its Hyperband rungs), so a resumed grid
never hands out a point twice and Hyperband judges as before. ``seed`` makes the
draws repeatable; a study rebuilt from ``k`` trials draws with ``seed + k`` (the
grid's order keeps ``seed``), so it does not replay the first draws."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState, create_trial

from launch_core.sweeps import pruning
from launch_core.sweeps.config import SweepConfig
from launch_core.sweeps.parameters import grid_count
from launch_core.sweeps.space import distributions, grid_space, run_config

optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial on stderr

State = Literal["running", "complete", "pruned", "failed"]
STATES: dict[TrialState, State] = {
    TrialState.RUNNING: "running", TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}
OPTUNA_STATES = {name: state for state, name in STATES.items()}
IMPUTED = "imputed"  # user attr: the value is W&B's impute for a failed trial
GAP = "gap"  # user attr: stands for a number no record holds (numbers stay)


@dataclass(frozen=True)
class Suggestion:
    """A trial to launch: ``config`` is its run config; ``params`` are Optuna's."""

    number: int
    params: dict[str, Any]
    config: dict[str, Any]


@dataclass(frozen=True)
class TrialRecord:
    """What to store of a trial to build the study again. ``steps`` are the metric's
    reports (count → value); ``system`` Optuna's notes (JSON)."""

    number: int
    state: State
    params: dict[str, Any]
    value: float | None = None
    steps: dict[int, float] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    imputed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "params": self.params,
                "value": self.value, "steps": {str(k): v for k, v in self.steps.items()},
                "system": self.system, "imputed": self.imputed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialRecord:
        return cls(number=int(data["number"]), state=data["state"],
                   params=dict(data["params"]), value=data.get("value"),
                   steps={int(k): float(v) for k, v in data.get("steps", {}).items()},
                   system=dict(data.get("system", {})), imputed=bool(data.get("imputed")))


class AskTellGridSampler(GridSampler):
    """Optuna's GridSampler without its end-of-grid ``study.stop()``, which is for
    ``optimize`` loops and raises under ask-and-tell (optuna/optuna#4121, #5141):
    ``SweepStudy.exhausted`` tells the end instead."""

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        return None


class SweepStudy:
    """The search of one sweep. Not thread-safe: one scheduler drives it."""

    def __init__(self, config: SweepConfig, *, seed: int | None = None,
                 name: str = "sweep", trials: Iterable[TrialRecord] = ()) -> None:
        self.config = config
        records = sorted(trials, key=lambda r: r.number)
        self._distributions = distributions(config)
        self._grid = grid_space(config) if config.method == "grid" else None
        self._grid_size = math.prod(grid_count(p) for p in config.searched)
        metric = config.metric
        self.study = optuna.create_study(
            study_name=name, direction=metric.goal if metric else "minimize",
            sampler=self._sampler(seed, len(records)),
            pruner=pruning.pruner(config.early_terminate))
        self._live: dict[int, optuna.Trial] = {}
        self._restore(records)

    def _sampler(self, seed: int | None, restored: int) -> BaseSampler:
        if self._grid is not None:
            return AskTellGridSampler(self._grid, seed=seed)
        draws = None if seed is None else seed + restored
        if self.config.method == "random":
            return RandomSampler(seed=draws)
        liar = self.config.metric is not None and \
            self.config.metric.impute_while_running == "worst"
        return TPESampler(seed=draws, constant_liar=liar)

    # -- asking -----------------------------------------------------------------

    @property
    def exhausted(self) -> bool:
        """No trial is left to hand out: ``run_cap`` trials were, or every grid point."""
        trials = self._trials()
        if self.config.run_cap is not None and len(trials) >= self.config.run_cap:
            return True
        if self._grid is None:
            return False
        handed = {t.system_attrs.get("grid_id") for t in trials} - {None}
        return len(handed) >= self._grid_size

    def ask(self) -> Suggestion | None:
        """The next trial, or None when the sweep has none left (``exhausted``)."""
        if self.exhausted:
            return None
        trial = self.study.ask(self._distributions)
        self._live[trial.number] = trial
        return Suggestion(trial.number, dict(trial.params),
                          run_config(self.config, trial.params))

    # -- telling ----------------------------------------------------------------

    def report(self, number: int, steps: Iterable[tuple[int, float]]) -> bool:
        """Give a running trial's metric reports (count, value), in order; those seen
        before are skipped. True: early termination stops the trial now (then
        ``prune`` it)."""
        trial = self._live[number]
        seen = set(self._frozen(number).intermediate_values)
        for step, value in steps:
            if step not in seen and math.isfinite(value) \
                    and pruning.should_stop(trial, step, value):
                return True
        return False

    def prune(self, number: int) -> None:
        """The trial was stopped early; its last report is its value."""
        self.study.tell(self._live.pop(number), state=TrialState.PRUNED)

    def tell(self, number: int, value: float | None) -> None:
        """The trial ended with its metric at ``value``; None when it has none (it
        failed, or never reported): bayes then imputes W&B's ``metric.impute``
        (worst or best value so far, or the trial's latest report)."""
        trial = self._live.pop(number)
        if value is not None and math.isfinite(value):
            self.study.tell(trial, value)
            return
        imputed = self._impute(number)
        if imputed is None:
            self.study.tell(trial, state=TrialState.FAIL)
            return
        trial.set_user_attr(IMPUTED, True)
        self.study.tell(trial, imputed)

    def _impute(self, number: int) -> float | None:
        metric = self.config.metric
        if self.config.method != "bayes" or metric is None:
            return None
        if metric.impute == "latest":
            steps = self._frozen(number).intermediate_values
            return steps[max(steps)] if steps else None
        values = [v for _, v in self._values()]
        if not values:
            return None
        worst = max if metric.goal == "minimize" else min
        return worst(values) if metric.impute == "worst" else \
            (min if worst is max else max)(values)

    # -- reading ----------------------------------------------------------------

    @property
    def running(self) -> list[int]:
        return sorted(self._live)

    def best(self) -> tuple[int, float] | None:
        """The best trial's number and value (imputed values aside), or None."""
        values = self._values()
        if not values:
            return None
        metric = self.config.metric
        pick = max if metric is not None and metric.goal == "maximize" else min
        return pick(values, key=lambda pair: pair[1])

    def target_reached(self) -> bool:
        """Whether a trial reached ``metric.target`` (the sweep can end)."""
        metric = self.config.metric
        return metric is not None and any(metric.reached(v) for _, v in self._values())

    def _values(self) -> list[tuple[int, float]]:
        return [(t.number, float(t.value)) for t in self._trials()
                if t.state == TrialState.COMPLETE and t.value is not None
                and not t.user_attrs.get(IMPUTED)]

    def record(self, number: int) -> TrialRecord:
        """What to store of trial ``number`` now."""
        frozen = self._frozen(number)
        system = dict(frozen.system_attrs)
        if self._grid is not None and system.get("search_space") == self._grid:
            del system["search_space"]  # the config gives it back
        return TrialRecord(
            number=number, state=STATES[frozen.state], params=dict(frozen.params),
            value=frozen.value, steps=dict(frozen.intermediate_values), system=system,
            imputed=bool(frozen.user_attrs.get(IMPUTED)))

    def records(self) -> list[TrialRecord]:
        return [self.record(t.number) for t in self._trials()]

    def _trials(self) -> list[FrozenTrial]:
        return [t for t in self.study.get_trials(deepcopy=False) if not t.user_attrs.get(GAP)]

    def _frozen(self, number: int) -> FrozenTrial:
        return self.study.get_trials(deepcopy=False)[number]  # numbers are positions

    # -- restoring --------------------------------------------------------------

    def _restore(self, records: Sequence[TrialRecord]) -> None:
        numbers = [r.number for r in records]
        if len(set(numbers)) != len(numbers) or (numbers and numbers[0] < 0):
            raise ValueError("trial records: numbers must be distinct and not negative")
        by_number = {r.number: r for r in records}
        for number in range(numbers[-1] + 1 if numbers else 0):
            record = by_number.get(number)
            if record is None:
                self.study.add_trial(create_trial(state=TrialState.FAIL,
                                                  user_attrs={GAP: True}))
                continue
            try:
                self.study.add_trial(self._frozen_from(record))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"trial record {number} does not fit this sweep: "
                                 f"{exc}") from None
            if record.state == "running":  # a handle to report on and tell
                frozen = self._frozen(number)
                self._live[number] = optuna.Trial(self.study, frozen._trial_id)

    def _frozen_from(self, record: TrialRecord) -> FrozenTrial:
        system = dict(record.system)
        if self._grid is not None and "grid_id" in system:
            system.setdefault("search_space", self._grid)
        state = OPTUNA_STATES[record.state]
        return create_trial(
            state=state, value=record.value if state != TrialState.FAIL else None,
            params=record.params,
            distributions={name: self._distributions[name] for name in record.params},
            user_attrs={IMPUTED: True} if record.imputed else {},
            system_attrs=system, intermediate_values=record.steps)
