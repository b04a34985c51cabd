"""A Docker daemon that does not answer (restarting, say) while a run is watched: the
real Docker SDK against a socket where nothing listens. The run stays ``running`` with
a note; it does not fail. The whole fault (a real daemon restarted under a running
container) is bench/bench_docker_restart.py."""

from __future__ import annotations

from pathlib import Path

import docker

from launch_core.backends.local_container import LocalContainerResource


def _away(tmp_path: Path) -> LocalContainerResource:
    client = docker.DockerClient(base_url=f"unix://{tmp_path}/no-daemon.sock",
                                  version="1.43")  # made while the daemon was up
    return LocalContainerResource(client)


def test_status_while_the_daemon_is_away_is_running_with_a_note(tmp_path):
    status = _away(tmp_path).status({"container_id": "abc123"})
    assert (status.state, status.done) == ("running", False)
    assert status.message.startswith("docker daemon unreachable")


def test_logs_and_cleanup_while_the_daemon_is_away_do_not_raise(tmp_path):
    resource = _away(tmp_path)
    assert resource.read_logs({"container_id": "abc123"}, 42) == ("", 42)
    log = tmp_path / "run.log"
    resource.cleanup({"container_id": "abc123", "log": str(log)})
    assert not log.exists()
