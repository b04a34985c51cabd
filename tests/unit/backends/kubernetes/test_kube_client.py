"""The cluster connection (kube_client): an error from loading a kube config never
carries an exec plugin's output (it runs with the agent's environment, so its stderr
may hold anything the agent holds). No cluster: the exec plugin fails before any
call is made; it is a real subprocess, writing a marker file to show it ran."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.kubernetes.client import ClusterChoice, run_session
from launch_core.errors import InvalidInput


def exec_kube_config(path: Path, marker: Path, code: int) -> Path:
    """A kube config whose user's exec plugin writes ``marker``, prints the agent's
    environment to stderr and exits ``code``."""
    script = (f"import os, sys; open({str(marker)!r}, 'w').write('ran'); "
              "sys.stderr.write('AGENT_SECRET=' + os.environ.get('AGENT_SECRET', '') + "
              "'\\nsecond line\\n'); sys.exit(" + str(code) + ")")
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable, "args": ["-c", script]}}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    return path


async def never(api: Any) -> None:
    raise AssertionError("no call is made without a cluster configuration")


def test_an_exec_plugins_stderr_never_reaches_the_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("AGENT_SECRET", "hunter2-not-a-known-secret")
    marker = tmp_path / "ran"
    config = exec_kube_config(tmp_path / "kc.json", marker, 3)
    with pytest.raises(InvalidInput) as info:
        run_session(ClusterChoice(str(config)), never, {})
    assert marker.exists()  # the admin's plugin ran, and failed
    message = str(info.value)
    assert "hunter2" not in message and "AGENT_SECRET" not in message, message
    assert "second line" not in message
    assert message.startswith("kubernetes: no usable cluster configuration "
                              "(configFile/context): exec: process returned 3"), message
