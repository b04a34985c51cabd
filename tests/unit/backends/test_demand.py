"""What every resource's demand builds on: counting values, and counting a queue's
resource where its extra is not installed."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from launch_core.backends.demand import (
    MAX_COUNT,
    as_count,
    counting_resource,
    gpus_of,
    multiplier,
)
from launch_core.backends.local_process.resource import LocalProcessResource
from launch_core.backends.resource import Resource, get_resource
from launch_core.errors import InvalidInput, MissingExtra


@pytest.mark.parametrize(("value", "count", "times"), [
    (3, 3, 3), ("2", 2, 2), (" 4 ", 4, 4), (2.0, 2, 2), (0, 0, 0), ("0", 0, 0),
    (None, 0, 1), ("{{ gpus }}", 0, 1), ("${gpus}", 0, 1), (True, 0, 1), (-1, 0, 1),
    (1.5, 0, 1), (float("nan"), 0, 1), ("٣", 0, 1), ([2], 0, 1), ({"n": 2}, 0, 1),
])
def test_a_value_counts_itself_when_countable(value: Any, count: int, times: int) -> None:
    assert as_count(value) == count
    assert multiplier(value) == times


def test_the_default_demand_is_no_gpus() -> None:
    class Plain(LocalProcessResource):
        demand = Resource.demand

    assert Plain().demand({"gpus": 3}) == {"gpus": 0}


def test_gpus_of_is_capped_at_what_the_store_holds() -> None:
    assert gpus_of(LocalProcessResource(), {"gpus": 2**40}) == MAX_COUNT


def test_a_resource_whose_extra_is_missing_still_counts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes_asyncio", None)  # the extra is absent
    with pytest.raises(MissingExtra):
        get_resource("kubernetes")
    config = {"spec": {"template": {"spec": {"containers": [
        {"resources": {"limits": {"nvidia.com/gpu": 2}}}]}}}}
    assert gpus_of(counting_resource("kubernetes"), config) == 2


def test_an_unknown_resource_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not available"):
        counting_resource("slurm")
