"""Fixtures of the sagemaker tests: the AWS test double (moto in this process, see
moto_double.py) and the environment that points the console scripts at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.sagemaker.moto_double import REGION, SageMakerDouble, run_double


@pytest.fixture(scope="session")
def sagemaker_moto() -> Iterator[SageMakerDouble]:
    """moto's SageMaker, CloudWatch Logs, STS and ECR on a free 127.0.0.1 port, in
    this process, with the double's patches (moto_double.py)."""
    yield from run_double()


@pytest.fixture
def aws(sagemaker_moto: SageMakerDouble) -> dict[str, str]:
    """Environment for an agent or CLI call: boto3 pointed at the double with dummy
    credentials; the open test registry taken as ECR; fast status polls."""
    return {"AWS_ENDPOINT_URL": sagemaker_moto.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS": os.environ.get(
                "RELAUNCH_TEST_REGISTRY", "127.0.0.1:5000"),
            "RELAUNCH_SAGEMAKER_POLL_SECONDS": "0.2"}
