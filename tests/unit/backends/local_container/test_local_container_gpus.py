"""local-container's ``gpus`` option (docker run's --gpus forms): what the queue may
write, what one run counts (demand), and the device request a run gets."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.backends.container_gpus import device_request
from launch_core.backends.local_container import LocalContainerResource
from launch_core.errors import InvalidInput


@pytest.mark.parametrize(("value", "count"), [
    (None, 0), (0, 0), (2, 2), ("3", 3), ("count=4", 4), ("all", 1), (-1, 1),
    ("count=all", 1), ("device=0,1", 2), ('"device=0,1,3"', 3), ("device=GPU-3a1f", 1),
])
def test_one_run_counts_the_gpus_its_option_asks_for(value: Any, count: int) -> None:
    resource = LocalContainerResource()
    config = {} if value is None else {"gpus": value}
    resource.validate(config)
    assert resource.demand(config) == {"gpus": count}


def test_wandb_dashed_spelling_counts_too() -> None:
    assert LocalContainerResource().demand({"--gpus": 2}) == {"gpus": 2}


@pytest.mark.parametrize("value", ["two", "device=", "device=0,,1", "driver=nvidia", -2,
                                   "${gpus}"])
def test_other_forms_are_refused_naming_the_option(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^local-container: option 'gpus': "):
        LocalContainerResource().validate({"gpus": value})
    assert LocalContainerResource().demand({"gpus": value}) == {"gpus": 0}


@pytest.mark.parametrize(("value", "request_"), [
    (None, None),
    (2, {"count": 2, "capabilities": [["gpu"]]}),
    ("all", {"count": -1, "capabilities": [["gpu"]]}),
    ("device=0,2", {"device_ids": ["0", "2"], "capabilities": [["gpu"]]}),
])
def test_without_agent_devices_the_option_is_the_request(value: Any,
                                                         request_: dict[str, Any] | None
                                                         ) -> None:
    assert device_request(value, None) == request_


@pytest.mark.parametrize("value", [None, 0, 2, "device=5,6"])
def test_the_agents_devices_replace_what_the_option_asks(value: Any) -> None:
    assert device_request(value, ("1", "3")) == {"device_ids": ["1", "3"],
                                                 "capabilities": [["gpu"]]}
    assert device_request(value, ()) is None  # no device given: no GPU at all


@pytest.mark.parametrize("value", ["all", -1, "count=all"])
def test_all_is_refused_on_an_agent_that_shares_out_gpus(value: Any) -> None:
    with pytest.raises(ValueError, match="'all' cannot run on an agent that shares out"):
        device_request(value, ("0",))
