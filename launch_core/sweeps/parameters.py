"""A W&B sweep's ``parameters``, read and checked: every form W&B's sweep config
schema has (``value``, ``values`` with or without ``probabilities``, ``min``/``max``
with a ``distribution`` or one inferred as W&B infers it, nested ``parameters``).

Each leaf becomes a ``Parameter`` with its path (``("optimizer", "lr")`` for
``optimizer: {parameters: {lr: ...}}``). An error is one line naming the file and the
key path (``parameters.optimizer.parameters.lr.min``)."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from launch_core.errors import InvalidInput

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")  # W&B's schema: propertyNames
SEPARATOR = "/"  # joins a nested parameter's path into one name: no name holds it
MAX_PARAMETERS = 1000
MAX_NUMBER = 1e300
MAX_EXPONENT = 700.0  # exp() of more overflows a float

# Each distribution W&B's schema has, with the keys it takes besides ``distribution``.
KEYS: dict[str, frozenset[str]] = {
    "constant": frozenset({"value"}),
    "categorical": frozenset({"values"}),
    "categorical_w_probabilities": frozenset({"values", "probabilities"}),
    "int_uniform": frozenset({"min", "max"}),
    "uniform": frozenset({"min", "max"}),
    "q_uniform": frozenset({"min", "max", "q"}),
    "log_uniform": frozenset({"min", "max"}),
    "log_uniform_values": frozenset({"min", "max"}),
    "q_log_uniform": frozenset({"min", "max", "q"}),
    "q_log_uniform_values": frozenset({"min", "max", "q"}),
    "inv_log_uniform": frozenset({"min", "max"}),
    "inv_log_uniform_values": frozenset({"min", "max"}),
    "normal": frozenset({"mu", "sigma"}),
    "q_normal": frozenset({"mu", "sigma", "q"}),
    "log_normal": frozenset({"mu", "sigma"}),
    "q_log_normal": frozenset({"mu", "sigma", "q"}),
}
REFUSED = {
    "beta": "relaunch does not support the beta distribution",
    "q_beta": "relaunch does not support the q_beta distribution",
}
# W&B's first log forms take min and max as natural-log exponents; W&B warns that
# they are deprecated in favour of the *_values forms, which take the values.
EXPONENT_FORMS = {"log_uniform": "log_uniform_values", "q_log_uniform": "q_log_uniform_values",
                  "inv_log_uniform": "inv_log_uniform_values"}
POSITIVE_MIN = frozenset({"log_uniform_values", "q_log_uniform_values",
                          "inv_log_uniform_values"})
GRID_FORMS = frozenset({"constant", "categorical", "int_uniform", "q_uniform"})


@dataclass(frozen=True)
class Parameter:
    """One swept (or constant) value of the run config. Unused fields keep their
    defaults, which are W&B's (``q`` 1.0, ``mu`` 0, ``sigma`` 1)."""

    path: tuple[str, ...]
    distribution: str
    value: Any = None
    values: tuple[Any, ...] = ()
    probabilities: tuple[float, ...] = ()
    min: int | float = 0
    max: int | float = 0
    q: int | float = 1.0
    mu: int | float = 0.0
    sigma: int | float = 1.0

    @property
    def name(self) -> str:
        """The flat name Optuna knows it by: the path joined with ``/``."""
        return SEPARATOR.join(self.path)

    @property
    def key(self) -> str:
        """Where it is in the sweep config: ``parameters.a.parameters.b``."""
        return key_of(self.path)


def key_of(path: tuple[str, ...]) -> str:
    return ".".join(f"parameters.{name}" for name in path)


def read_parameters(doc: Any, where: str) -> tuple[tuple[Parameter, ...], list[str]]:
    """The parameters of ``doc`` (the sweep config's ``parameters``), depth first in
    the document's order, and warnings (deprecated forms). Raises InvalidInput."""
    found: list[Parameter] = []
    warnings: list[str] = []
    _read_level(doc, (), where, found, warnings)
    return tuple(found), warnings


def _read_level(doc: Any, prefix: tuple[str, ...], where: str,
                found: list[Parameter], warnings: list[str]) -> None:
    at = f"{key_of(prefix)}.parameters" if prefix else "parameters"
    if not isinstance(doc, Mapping) or not doc:
        raise InvalidInput(f"{where}: {at}: must be a non-empty mapping of parameter names")
    for name, spec in doc.items():
        if not NAME.match(name):
            raise InvalidInput(f"{where}: {at}: parameter name {name[:80]!r} must match "
                               f"{NAME.pattern}")
        path = (*prefix, name)
        if isinstance(spec, Mapping) and "parameters" in spec:
            extra = sorted(set(spec) - {"parameters"})
            if extra:
                raise InvalidInput(f"{where}: {key_of(path)}: a nested parameter has only "
                                   f"'parameters' (found {extra[0]!r})")
            _read_level(spec["parameters"], path, where, found, warnings)
        else:
            parameter = _read_one(path, spec, f"{where}: {key_of(path)}")
            found.append(parameter)
            if parameter.distribution in EXPONENT_FORMS:
                warnings.append(
                    f"{where}: {key_of(path)}: {parameter.distribution} takes min and max "
                    f"as natural-log exponents (W&B deprecates it: "
                    f"{EXPONENT_FORMS[parameter.distribution]} takes the values)")
        if len(found) > MAX_PARAMETERS:
            raise InvalidInput(f"{where}: more than {MAX_PARAMETERS} parameters")


def _read_one(path: tuple[str, ...], spec: Any, at: str) -> Parameter:
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"{at}: must be a mapping (value, values, min/max, "
                           "distribution or parameters)")
    kind = _distribution(spec, at)
    allowed = KEYS[kind] | {"distribution"}
    if kind == "categorical" and "probabilities" in spec:  # W&B's name for the pair
        kind, allowed = "categorical_w_probabilities", allowed | {"probabilities"}
    for key in spec:
        if key not in allowed:
            raise InvalidInput(f"{at}: key {key!r} does not belong to distribution {kind} "
                               f"(it takes {', '.join(sorted(allowed))})")
    for key in sorted(KEYS[kind] - {"q", "mu", "sigma"}):
        if key not in spec:
            raise InvalidInput(f"{at}: distribution {kind} needs {key!r}")
    fields: dict[str, Any] = {"path": path, "distribution": kind}
    if kind == "constant":
        fields["value"] = spec["value"]
    if "values" in spec:
        fields["values"] = _values(spec["values"], f"{at}.values")
    if "probabilities" in spec:
        fields["probabilities"] = _probabilities(spec["probabilities"],
                                                 len(fields["values"]), f"{at}.probabilities")
    for key in ("min", "max", "q", "mu", "sigma"):
        if key in spec:
            fields[key] = _number(spec[key], f"{at}.{key}")
    _check_numbers(kind, fields, at)
    return Parameter(**fields)


def _distribution(spec: Mapping[str, Any], at: str) -> str:
    """The distribution named, or the one W&B infers: ``value`` → constant,
    ``values`` → categorical, integer ``min`` and ``max`` → int_uniform, other
    numbers → uniform."""
    named = spec.get("distribution")
    if named is not None:
        if not isinstance(named, str) or (named not in KEYS and named not in REFUSED):
            raise InvalidInput(f"{at}.distribution: {str(named)[:80]!r} is not one of "
                               f"{', '.join(KEYS)}")
        if named in REFUSED:
            raise InvalidInput(f"{at}.distribution: {REFUSED[named]}")
        return named
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        both_int = all(_is_int(spec[key]) for key in ("min", "max"))
        return "int_uniform" if both_int else "uniform"
    raise InvalidInput(f"{at}: give value, values, min and max, a distribution, or "
                       "nested parameters")


def _values(value: Any, at: str) -> tuple[Any, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{at}: must be a non-empty list")
    return tuple(value)


def _probabilities(value: Any, count: int, at: str) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != count:
        raise InvalidInput(f"{at}: must be a list of {count} numbers, one per value")
    numbers = tuple(float(_number(item, f"{at}[{i}]")) for i, item in enumerate(value))
    if any(p < 0 for p in numbers):
        raise InvalidInput(f"{at}: must not be negative")
    if not math.isclose(sum(numbers), 1.0, rel_tol=1e-5, abs_tol=1e-8):  # numpy's isclose
        raise InvalidInput(f"{at}: must sum to 1 (they sum to {sum(numbers):g})")
    return numbers


def _number(value: Any, at: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{at}: must be a number")
    # abs() first: math.isfinite() of a huge int raises OverflowError.
    if abs(value) > MAX_NUMBER or not math.isfinite(value):
        raise InvalidInput(f"{at}: must be a finite number within ±{MAX_NUMBER:g}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(kind: str, fields: dict[str, Any], at: str) -> None:
    if kind == "int_uniform" and not (_is_int(fields["min"]) and _is_int(fields["max"])):
        raise InvalidInput(f"{at}: int_uniform needs integer min and max")
    if "min" in fields and fields["min"] >= fields["max"]:
        raise InvalidInput(f"{at}: min {fields['min']} is not less than max {fields['max']}")
    if kind in POSITIVE_MIN and fields["min"] <= 0:
        raise InvalidInput(f"{at}.min: {kind} needs min > 0")
    if kind in EXPONENT_FORMS and max(abs(fields["min"]), abs(fields["max"])) > MAX_EXPONENT:
        raise InvalidInput(f"{at}: {kind} takes min and max as natural-log exponents: "
                           f"keep them within ±{MAX_EXPONENT:g} (or use "
                           f"{EXPONENT_FORMS[kind]})")
    if kind.endswith("log_normal") and abs(fields.get("mu", 0)) + 6 * fields.get(
            "sigma", 1) > MAX_EXPONENT:
        raise InvalidInput(f"{at}: {kind} draws exp(mu ± 6 sigma): keep |mu| + 6 sigma "
                           f"within {MAX_EXPONENT:g}")
    if fields.get("q", 1.0) <= 0:
        raise InvalidInput(f"{at}.q: must be greater than 0")
    if fields.get("sigma", 1.0) < 0:
        raise InvalidInput(f"{at}.sigma: must not be negative")


def grid_count(parameter: Parameter) -> int:
    """How many points a grid parameter has (see ``grid_values``)."""
    kind = parameter.distribution
    if kind == "int_uniform":
        return int(parameter.max) - int(parameter.min) + 1
    if kind == "q_uniform":
        steps = (parameter.max - parameter.min) / parameter.q
        # A tiny q over a wide range is past any grid (and past float: inf).
        return max(math.ceil(steps), 1) if math.isfinite(steps) else sys.maxsize
    return len(parameter.values) if kind == "categorical" else 1


def grid_values(parameter: Parameter) -> tuple[Any, ...]:
    """A grid parameter's points, as W&B's grid search lists them: ``values``;
    ``min`` to ``max`` for int_uniform; ``min``, ``min + q``... below ``max`` for
    q_uniform (numpy's ``arange``: integers when min, max and q are); the ``value``
    of a constant."""
    kind, low = parameter.distribution, parameter.min
    if kind == "int_uniform":
        return tuple(range(int(low), int(parameter.max) + 1))
    if kind == "q_uniform":
        count, step = grid_count(parameter), parameter.q
        if all(isinstance(x, int) for x in (low, parameter.max, step)):
            return tuple(int(low) + i * int(step) for i in range(count))
        return tuple(tidy(low + i * step) for i in range(count))
    return (parameter.value,) if kind == "constant" else parameter.values


def tidy(number: float) -> float:
    """``number`` as a float without the last-digit noise of float steps (0.1 * 3)."""
    return float(f"{number:.15g}")
