"""``relaunch launch-agent --metrics-port``: a bad port or one already in use is one
``error:`` line naming the flag (and the config key), exit 2, before Prefect starts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import write


def one_line(result: Any) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return str(lines[0])


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another process (this test) listens on, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_bad_port_flag_is_exit_2_naming_the_flag(relaunch: Any, port: str) -> None:
    result = relaunch("launch-agent", "-q", "q", "--metrics-port", port)
    assert result.code == 2
    assert "'--metrics-port'" in one_line(result)


def test_a_port_in_use_is_exit_2_before_prefect_starts(relaunch: Any, listening: int) -> None:
    result = relaunch("launch-agent", "-q", "q", "--metrics-port", str(listening))
    assert result.code == 2
    assert one_line(result) == (f"error: --metrics-port/metrics_port: cannot serve /metrics "
                                f"on 127.0.0.1:{listening}: Address already in use")
    assert "prefect" not in (result.out + result.err).lower()  # it never started


def test_a_port_in_use_from_the_config_file_is_exit_2_too(relaunch: Any, listening: int,
                                                          tmp_path: Path) -> None:
    config = write(tmp_path / "agent.yaml", f"queues: [q]\nmetrics_port: {listening}\n")
    result = relaunch("launch-agent", "-c", str(config))
    assert result.code == 2
    assert f"cannot serve /metrics on 127.0.0.1:{listening}" in one_line(result)


def test_a_bad_port_in_the_config_file_names_the_key_and_the_file(relaunch: Any,
                                                                  tmp_path: Path) -> None:
    config = write(tmp_path / "agent.yaml", "queues: [q]\nmetrics_port: 0\n")
    result = relaunch("launch-agent", "-c", str(config))
    assert result.code == 2
    assert one_line(result).startswith(f"error: {config}: metrics_port: ")
