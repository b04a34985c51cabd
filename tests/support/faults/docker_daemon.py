"""A private Docker daemon for fault benches: its own socket, data root and pid file,
so restarting it (the "Docker daemon restart" fault) leaves the machine's daemon and
whatever else runs on it alone. Started with ``--live-restore``, as a production host
that must survive a daemon upgrade is configured: running containers keep running
while the daemon is away. The base image is copied in from the machine's daemon.

The daemon keeps its event log in memory only, so a restart forgets it: the container
start events are streamed to a file from each start of the daemon, and ``starts``
counts a container's starts from that file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


class PrivateDockerd:
    def __init__(self, root: Path, live_restore: bool = True) -> None:
        self.root, self.live_restore = root, live_restore
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.events: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        began = int(time.time()) - 1
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "pid"),
             "--iptables=false", "--ip-masq=false", "--bridge=none",
             *(["--live-restore"] if self.live_restore else [])],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while self._docker("info").returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private dockerd did not start; see {self.root}/dockerd.log")
            time.sleep(0.3)
        out = open(self.root / "starts.jsonl", "ab")  # noqa: SIM115
        self.events = subprocess.Popen(
            ["docker", "events", "--since", str(began), "--filter", "type=container",
             "--filter", "event=start", "--format", "{{json .}}"],
            stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env}, start_new_session=True)

    def starts(self, name: str) -> int:
        """How many times the container ``name`` was started on this daemon."""
        time.sleep(1.0)  # the stream lags the daemon a little
        try:
            lines = (self.root / "starts.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return 0
        return sum(1 for line in lines
                   if json.loads(line).get("Actor", {}).get("Attributes", {}).get("name")
                   == name)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        _reap(self.proc, 60)
        self.proc = None
        if self.events is not None:  # its stream ended with the daemon
            _reap(self.events, 10)
            self.events = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def load_image(self, image: str) -> None:
        """Copy ``image`` from the machine's daemon into this one."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "load", "-q"], stdin=save.stdout, check=True, timeout=300,
                       env={**os.environ, **self.env}, stdout=subprocess.DEVNULL)
        if save.wait(timeout=60) != 0:
            raise RuntimeError(f"docker save {image} failed")

    def remove(self) -> None:
        """Stop the daemon and its containers, then delete its state."""
        if self.proc is not None:
            ids = self._docker("ps", "-aq").stdout.split()
            if ids:
                self._docker("rm", "-f", *ids)
        self.stop()
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **self.env})


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait ``timeout`` s for ``proc`` to end, then kill it."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
