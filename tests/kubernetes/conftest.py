"""Fixtures of the kubernetes tests: the Kubernetes test double (kmock's emulator
plus a kwok-like job controller running pods on the local Docker daemon, see
kube_double.py) and console scripts pointed at the session's Prefect server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker_support import DockerEnv
from tests.flows.conftest import api, cli_env  # noqa: F401  (agents here use Prefect)
from tests.kubernetes.kube_double import KubeDouble, running


@pytest.fixture
def kube_double(docker_env: DockerEnv, tmp_path: Path) -> Iterator[KubeDouble]:
    """A fresh cluster double on 127.0.0.1 (HTTP and HTTPS); stopped, and its
    containers removed, after the test."""
    double = KubeDouble(docker_env.client, uuid.uuid4().hex[:12], tmp_path / "kube-double")
    yield from running(double)


@pytest.fixture
def kube_env(kube_double: KubeDouble, cli_env: dict[str, str],  # noqa: F811
             tmp_path: Path) -> dict[str, str]:
    """Console-script environment whose kube config's current context is the double
    (namespace ``ctx-ns``)."""
    config = kube_double.kubeconfig(tmp_path / "kubeconfig.json", namespace="ctx-ns")
    return {**cli_env, "KUBECONFIG": str(config)}
