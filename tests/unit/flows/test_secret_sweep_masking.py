"""A stage's exception reaches Prefect (the task run's state message, its events)
masked in place (``flows.tasks._mask_exception``, applied to every stage's error), also
when its message is built from attributes rather than arguments, as
docker's APIError builds it from the daemon's ``explanation``. The error is a real
docker-py exception over a real requests response; no daemon is needed."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from flows.tasks import _mask_exception
from launch_core.masking import add_secret

SECRET = "sweepuser-unit-4411"


def _daemon_error() -> docker.errors.APIError:
    response = requests.Response()
    response.status_code, response.reason = 500, "Internal Server Error"
    response.url = "http+docker://localhost/v1.45/containers/abc/start"
    return docker.errors.APIError(
        "500 Server Error", response=response,
        explanation=f"unable to find user {SECRET}: no matching entries in passwd file")


def test_stage_error_built_from_attributes_is_masked():
    add_secret(SECRET)
    error = _daemon_error()
    assert SECRET in str(error)  # control: docker quotes the explanation

    _mask_exception(error)  # in place: its type is kept for the pipeline
    assert SECRET not in str(error)
    assert "unable to find user ***: no matching entries" in str(error)


def test_stage_error_cause_is_masked_too():
    add_secret(SECRET)

    with pytest.raises(RuntimeError) as raised:
        try:
            raise _daemon_error()
        except docker.errors.APIError as exc:
            raise RuntimeError(f"start failed for {SECRET}") from exc
    _mask_exception(raised.value)
    assert str(raised.value) == "start failed for ***"
    assert SECRET not in str(raised.value.__cause__)
