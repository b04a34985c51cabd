"""The agent config's ``metrics_port`` and ``metrics_host`` (launch-agent
--metrics-port): a port from 1 to 65535, from the file or the flag; a bad one is an
error naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from launch_core.errors import ConfigError
from launch_core.spec.agent_config import load_agent_config
from tests.support import write


def test_metrics_are_not_served_by_default_and_bind_to_loopback() -> None:
    config, _ = load_agent_config(None, environ={})
    assert (config.metrics_port, config.metrics_host) == (None, "127.0.0.1")


@pytest.mark.parametrize("port", [1, 9464, 65535])
def test_a_port_from_1_to_65535_is_accepted_from_the_file(tmp_path: Path, port: int) -> None:
    path = write(tmp_path / "c.yaml", f"metrics_port: {port}\nmetrics_host: 0.0.0.0\n")
    config, warnings = load_agent_config(str(path), environ={})
    assert (config.metrics_port, config.metrics_host, warnings) == (port, "0.0.0.0", [])


@pytest.mark.parametrize("port", ["0", "65536", "-1", "nine", "true"])
def test_a_bad_port_in_the_file_names_the_key_and_the_file(tmp_path: Path, port: str) -> None:
    path = write(tmp_path / "c.yaml", f"metrics_port: {port}\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: metrics_port: ")
    assert len(message.splitlines()) == 1


def test_the_flag_overrides_the_file_and_is_validated_too(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "metrics_port: 9000\n")
    config, _ = load_agent_config(str(path), environ={}, flags={"metrics_port": 9001})
    assert config.metrics_port == 9001
    with pytest.raises(ConfigError, match="metrics_port: must be a TCP port from 1 to 65535"):
        load_agent_config(str(path), environ={}, flags={"metrics_port": 70000})


@pytest.mark.parametrize("host", ["", "bad host", "a\nb", "x" * 254])
def test_a_bad_host_names_the_key(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError, match="metrics_host"):
        load_agent_config(None, environ={}, data={"metrics_host": host})
