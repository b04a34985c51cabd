"""A W&B sweep config (``SWEEP.yaml``), read and checked into a ``SweepConfig``.

The keys are W&B's and mean what they mean in W&B (docs/sweeps.md lists each). A key
that would change the search and that relaunch does not do (``method: custom``,
``metrics``, a scheduler job, ``beta`` distributions...) is refused with one line
naming the file and the key path; a key that only says where W&B runs its own
scheduler is set aside with a warning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from launch_core.errors import InvalidInput
from launch_core.spec.inputs import check_data, load_mapping
from launch_core.sweeps.command import check_command
from launch_core.sweeps.parameters import GRID_FORMS, Parameter, grid_count, read_parameters

Method = Literal["grid", "random", "bayes"]
Goal = Literal["minimize", "maximize"]
METHODS = ("grid", "random", "bayes")
DEFAULT_WORKERS = 8  # W&B's scheduler default
MAX_GRID_POINTS = 100_000  # Optuna's GridSampler holds every point in memory
TEXT_KEYS = ("name", "description", "program", "entity", "project", "apiVersion")
# Keys of W&B's ``scheduler`` section that only say where W&B runs its scheduler job.
SCHEDULER_PLACEMENT = ("resource", "resource_args", "docker_image", "template_variables")
SCHEDULER_REFUSED = {
    "job": "a scheduler job: relaunch runs the sweep's scheduler itself",
    "settings": "W&B's Optuna-scheduler settings: set method and early_terminate instead",
    "engine": "a custom scheduler engine", "source": "a custom scheduler",
    "optimizer": "a custom scheduler", "search_space": "a custom scheduler",
}


@dataclass(frozen=True)
class Metric:
    """``metric``: the value each trial reports, and which way is better."""

    name: str
    goal: Goal = "minimize"
    target: float | None = None  # the sweep ends once a trial reaches it
    impute: Literal["worst", "best", "latest"] = "worst"  # a failed trial's value (bayes)
    impute_while_running: Literal["false", "worst"] = "false"

    def reached(self, value: float) -> bool:
        """Whether ``value`` reaches ``target`` (never without a target)."""
        if self.target is None:
            return False
        return value <= self.target if self.goal == "minimize" else value >= self.target


@dataclass(frozen=True)
class Hyperband:
    """``early_terminate: {type: hyperband}``: ``min_iter``, or ``max_iter`` and ``s``,
    as given; ``eta`` (W&B's default 3). ``first_band`` is W&B's first band: the
    metric's report count where stopping starts (``min_iter``, or ``max_iter``
    divided ``s`` times by ``eta``, W&B's arithmetic); the next bands are each
    ``eta`` times the one before."""

    first_band: int
    eta: int = 3
    min_iter: int | None = None
    max_iter: int | None = None
    s: int | None = None


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep config. ``launch`` is W&B's ``launch`` section as given (the
    launch-sweep command reads it); ``warnings`` are one line each, to show."""

    method: Method
    parameters: tuple[Parameter, ...]
    metric: Metric | None = None
    run_cap: int | None = None
    early_terminate: Hyperband | None = None
    num_workers: int = DEFAULT_WORKERS
    job: str | None = None
    image_uri: str | None = None
    command: tuple[str, ...] | None = None
    program: str | None = None
    name: str | None = None
    description: str | None = None
    entity: str | None = None
    project: str | None = None
    launch: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def searched(self) -> tuple[Parameter, ...]:
        """The parameters that vary (every one but the constants)."""
        return tuple(p for p in self.parameters if p.distribution != "constant")


def load_sweep_config(value: str, source: str) -> SweepConfig:
    """Read a sweep config from a file (``.yaml``, ``.yml``, ``.json``) or inline JSON or
    YAML. ``source`` names the flag or argument. Raises InvalidInput."""
    data = load_mapping(value, source)
    return parse_sweep_config(data, f"{source} ({value})" if _is_file(value) else source)


def _is_file(value: str) -> bool:
    try:
        return "\n" not in value and len(value) < 4096 and Path(value).is_file()
    except (OSError, ValueError):
        return False


def parse_sweep_config(data: Mapping[str, Any], where: str) -> SweepConfig:
    """Check ``data`` (a sweep config's mapping); ``where`` names it in errors."""
    check_data(dict(data), where)
    known = {"method", "metric", "metrics", "parameters", "run_cap", "early_terminate",
             "scheduler", "job", "image_uri", "command", "launch", "controller", "kind",
             *TEXT_KEYS}
    for key in data:
        if key not in known:
            raise InvalidInput(f"{where}: {key}: unknown key of a sweep config")
    method = _method(data.get("method"), where)
    if "metrics" in data:
        raise InvalidInput(f"{where}: metrics: several metrics need W&B's method custom, "
                           "which relaunch does not run: give one metric")
    if data.get("kind", "sweep") != "sweep":
        raise InvalidInput(f"{where}: kind: must be sweep")
    if "parameters" not in data:
        raise InvalidInput(f"{where}: parameters: a sweep needs parameters")
    parameters, warnings = read_parameters(data["parameters"], where)
    metric = _metric(data["metric"], where) if "metric" in data else None
    early = _hyperband(data["early_terminate"], where) if "early_terminate" in data else None
    num_workers = _scheduler(data.get("scheduler", {}), where, warnings)
    if "controller" in data:
        warnings.append(f"{where}: controller: set aside; relaunch's scheduler is the "
                        "sweep's controller")
    texts = {key: _text(data[key], f"{where}: {key}") for key in TEXT_KEYS if key in data}
    job = _text(data["job"], f"{where}: job") if "job" in data else None
    image_uri = _text(data["image_uri"], f"{where}: image_uri") if "image_uri" in data else None
    if (job is None) == (image_uri is None):
        raise InvalidInput(f"{where}: job, image_uri: give exactly one: each trial is a "
                           "launch of it")
    command = _command(data["command"], texts.get("program"), where) \
        if "command" in data else None
    config = SweepConfig(
        method=method, parameters=parameters, metric=metric,
        run_cap=_positive_int(data["run_cap"], f"{where}: run_cap") if "run_cap" in data
        else None,
        early_terminate=early, num_workers=num_workers, job=job, image_uri=image_uri,
        command=command, program=texts.get("program"), name=texts.get("name"),
        description=texts.get("description"), entity=texts.get("entity"),
        project=texts.get("project"), launch=_launch(data.get("launch", {}), where),
        warnings=tuple(warnings))
    _check_method(config, where)
    return config


def _method(value: Any, where: str) -> Method:
    if value is None:
        raise InvalidInput(f"{where}: method: a sweep needs a method (grid, random, bayes)")
    if value == "custom":
        raise InvalidInput(f"{where}: method: custom needs a custom scheduler, which "
                           "relaunch does not run (grid, random, bayes)")
    if value not in METHODS:
        raise InvalidInput(f"{where}: method: {str(value)[:80]!r} is not one of grid, "
                           "random, bayes")
    method: Method = value
    return method


def _metric(doc: Any, where: str) -> Metric:
    at = f"{where}: metric"
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"{at}: must be a mapping with a name")
    for key in doc:
        if key not in ("name", "goal", "target", "impute", "impute_while_running"):
            raise InvalidInput(f"{at}.{key}: unknown key of a metric")
    if "name" not in doc:
        raise InvalidInput(f"{at}.name: a metric needs a name")
    name = _text(doc["name"], f"{at}.name")
    goal = doc.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise InvalidInput(f"{at}.goal: must be minimize or maximize")
    target = doc.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float))):
        raise InvalidInput(f"{at}.target: must be a number")
    impute = doc.get("impute", "worst")
    if impute not in ("worst", "best", "latest"):
        raise InvalidInput(f"{at}.impute: must be worst, best or latest")
    running: Any = doc.get("impute_while_running", "false")
    running = "false" if running is False else running
    if running in ("false", "worst"):
        return Metric(name=name, goal=goal, impute=impute, impute_while_running=running,
                      target=None if target is None else float(target))
    if running in ("best", "latest"):
        raise InvalidInput(f"{at}.impute_while_running: relaunch imputes running trials "
                           "only as worst (Optuna's constant liar)")
    raise InvalidInput(f"{at}.impute_while_running: must be false or worst")


def _hyperband(doc: Any, where: str) -> Hyperband:
    at = f"{where}: early_terminate"
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"{at}: must be a mapping with type: hyperband")
    if doc.get("type") != "hyperband":
        raise InvalidInput(f"{at}.type: must be hyperband")
    for key in doc:
        if key not in ("type", "min_iter", "max_iter", "s", "eta", "strict"):
            raise InvalidInput(f"{at}.{key}: unknown key of hyperband early termination")
    if doc.get("strict", True) is not True:
        raise InvalidInput(f"{at}.strict: only true: Optuna's Hyperband compares each "
                           "trial's metric at the band, as W&B's strict mode does")
    eta = doc.get("eta", 3)
    if isinstance(eta, float) and eta.is_integer():
        eta = int(eta)
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise InvalidInput(f"{at}.eta: must be an integer of at least 2 (Optuna's "
                           "reduction factor)")
    if "min_iter" in doc and "max_iter" in doc:
        raise InvalidInput(f"{at}: give min_iter, or max_iter and s, not both")
    if "min_iter" in doc:
        if "s" in doc:
            raise InvalidInput(f"{at}.s: goes with max_iter, not min_iter")
        min_iter = _positive_int(doc["min_iter"], f"{at}.min_iter")
        return Hyperband(first_band=min_iter, eta=eta, min_iter=min_iter)
    if "max_iter" not in doc or "s" not in doc:
        raise InvalidInput(f"{at}: give min_iter, or max_iter and s")
    max_iter = _positive_int(doc["max_iter"], f"{at}.max_iter")
    s = _positive_int(doc["s"], f"{at}.s")
    band, first = float(max_iter), None
    for _ in range(s):
        band /= eta
        if band < 1:
            break
        first = int(band)
    if first is None:
        raise InvalidInput(f"{at}: max_iter / eta is below 1: no band to stop at "
                           "(raise max_iter or lower eta)")
    return Hyperband(first_band=first, eta=eta, max_iter=max_iter, s=s)


def _scheduler(doc: Any, where: str, warnings: list[str]) -> int:
    at = f"{where}: scheduler"
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"{at}: must be a mapping")
    for key in doc:
        if key in SCHEDULER_REFUSED:
            raise InvalidInput(f"{at}.{key}: relaunch does not run "
                               f"{SCHEDULER_REFUSED[key]}")
        if key in SCHEDULER_PLACEMENT:
            warnings.append(f"{at}.{key}: set aside; it places W&B's scheduler job, and "
                            "relaunch runs the scheduler itself")
        elif key != "num_workers":
            raise InvalidInput(f"{at}.{key}: unknown key of the scheduler section")
    workers = doc.get("num_workers", DEFAULT_WORKERS)
    if isinstance(workers, str) and workers.isdigit():  # W&B reads a string of digits
        workers = int(workers)
    return _positive_int(workers, f"{at}.num_workers")


def _command(value: Any, program: str | None, where: str) -> tuple[str, ...]:
    at = f"{where}: command"
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{at}: must be a non-empty list")
    words = []
    for i, word in enumerate(value):
        if isinstance(word, bool) or not isinstance(word, (str, int, float)):
            raise InvalidInput(f"{at}[{i}]: must be a string")
        words.append(str(word))
    problem = check_command(words, program)
    if problem:
        raise InvalidInput(f"{at}: {problem}")
    return tuple(words)


def _launch(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: launch: must be a mapping")
    return dict(value)


def _check_method(config: SweepConfig, where: str) -> None:
    if config.method == "bayes" and config.metric is None:
        raise InvalidInput(f"{where}: metric: bayes search needs a metric")
    if config.early_terminate is not None and config.metric is None:
        raise InvalidInput(f"{where}: metric: early_terminate needs a metric")
    if config.method != "grid":
        return
    points = 1
    for parameter in config.parameters:
        if parameter.distribution not in GRID_FORMS:
            raise InvalidInput(
                f"{where}: {parameter.key}: grid search takes value, values (without "
                f"probabilities), int_uniform or q_uniform, not {parameter.distribution}")
        points *= grid_count(parameter)
        if points > MAX_GRID_POINTS:
            raise InvalidInput(f"{where}: parameters: the grid has more than "
                               f"{MAX_GRID_POINTS} points")


def _positive_int(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{at}: must be a positive integer")
    return value


def _text(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{at}: must be a non-empty string")
    return value
