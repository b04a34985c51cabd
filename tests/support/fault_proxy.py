"""A loopback fault proxy in front of a real Prefect server (a test double of a
flaky network path, not of Prefect): it forwards every REST call and the events
websocket to the server, records what it saw, and answers ``503 Service
Unavailable`` itself to the calls a rule picks (say, the first 3 ``POST
/api/flow_runs/``), as an overloaded Prefect server does.

It runs in the test's process (uvicorn on a thread, 127.0.0.1 only); agents started
by the test point their PREFECT_API_URL at ``FaultProxy.url``.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.prefect_server import free_port

Scope = dict[str, Any]
DROPPED = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


@dataclass
class Fault:
    """Answer ``status`` to calls matching ``method`` and ``path`` (a regex searched in
    the path), after letting ``skip`` of them through, ``times`` times (None: until
    ``until``, a monotonic time, or forever)."""

    method: str
    path: str
    times: int | None = None
    until: float | None = None
    status: int = 503
    skip: int = 0
    hits: int = 0
    matched: int = 0
    # An outage: (method, path, n-th call, seconds); it starts once that call passed.
    trigger: tuple[str, str, int, float] | None = None

    def passed(self, method: str, path: str) -> None:
        """A call went through: start the outage if it is the trigger."""
        if self.trigger is None or self.until != 0.0:
            return
        t_method, t_path, nth, seconds = self.trigger
        if method == t_method and re.search(t_path, path):
            self.matched += 1
            if self.matched == nth:
                self.until = time.monotonic() + seconds

    def takes(self, method: str, path: str) -> bool:
        if self.trigger is not None:
            hit = self.until is not None and 0 < time.monotonic() < self.until
            self.hits += hit
            return hit
        if method != self.method or not re.search(self.path, path):
            return False
        self.matched += 1
        if self.matched <= self.skip:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.until is not None and time.monotonic() >= self.until:
            return False
        self.hits += 1
        return True


@dataclass(frozen=True)
class Call:
    """One REST call the proxy saw, and the status the client got."""

    method: str
    path: str
    status: int
    at: float = 0.0  # time.time() when it arrived
    seconds: float = 0.0  # until it was answered


class FaultProxy:
    """Forwards to ``upstream`` (e.g. ``http://127.0.0.1:4200/api``) and injects faults."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/").removesuffix("/api")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None

    def fail(self, method: str, path: str, *, times: int | None = None,
             seconds: float | None = None, status: int = 503, skip: int = 0) -> Fault:
        """Answer ``status`` to ``times`` matching calls (or for ``seconds``) after the
        next ``skip`` of them went through."""
        until = time.monotonic() + seconds if seconds is not None else None
        fault = Fault(method, path, times, until, status, skip)
        with self._lock:
            self.faults.append(fault)
        return fault

    def outage_after(self, method: str, path: str, *, skip: int = 0,
                     seconds: float) -> Fault:
        """Once the (skip+1)-th call matching ``method`` and ``path`` went through,
        answer 503 to every call (and refuse the events websocket) for ``seconds``:
        Prefect unreachable from a chosen point of a flow run on."""
        fault = Fault("*", "", until=0.0, trigger=(method, path, skip + 1, seconds))
        with self._lock:
            self.faults.append(fault)
        return fault

    def seen(self, method: str, path: str) -> list[Call]:
        """The calls matching ``method`` and ``path`` (a regex), in order."""
        with self._lock:
            return [c for c in self.calls if c.method == method and re.search(path, c.path)]

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            return next((f for f in self.faults if f.takes(method, path)), None)

    def _record(self, method: str, path: str, status: int, at: float = 0.0) -> None:
        with self._lock:
            self.calls.append(Call(method, path, status, at, time.time() - at if at else 0))
            if status < 500:
                for fault in self.faults:
                    fault.passed(method, path)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path, at = scope["method"], scope["path"], time.time()
        fault = self._fault_for(method, path)
        if fault is not None:
            headers = [(b"content-type", b"application/json")]
            status, content = fault.status, b'{"detail":"injected fault"}'
        else:
            status, headers, content = await self._forward(scope, body)
        self._record(method, path, status, at)
        headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _forward(self, scope: Scope, body: bytes
                       ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.upstream, timeout=60)
        query = scope["query_string"].decode()
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"]
                   if k.decode().lower() not in DROPPED]
        try:
            answer = await self._client.request(
                scope["method"], scope["path"] + (f"?{query}" if query else ""),
                headers=headers, content=body)
        except httpx.HTTPError:
            return 502, [], b'{"detail":"upstream unreachable"}'
        kept = [(k.encode(), v.encode()) for k, v in answer.headers.multi_items()
                if k.lower() not in DROPPED]
        return answer.status_code, kept, answer.content

    async def _websocket(self, scope: Scope, receive: Any, send: Any) -> None:
        from websockets.asyncio.client import connect

        await receive()  # websocket.connect
        if self._fault_for("WS", scope["path"]) is not None:
            self._record("WS", scope["path"], 503)
            await send({"type": "websocket.close", "code": 1013})
            return
        target = self.upstream.replace("http", "ws", 1) + scope["path"]
        query = scope["query_string"].decode()
        # Prefect's client asks for the "prefect" subprotocol (auth handshake first).
        async with connect(target + (f"?{query}" if query else ""), max_size=None,
                           subprotocols=scope.get("subprotocols") or None) as upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            self._record("WS", scope["path"], 101)
            await _relay(receive, send, upstream)


async def _relay(receive: Any, send: Any, upstream: Any) -> None:
    """Copy messages both ways until either side closes."""

    async def client_to_server() -> None:
        with suppress(Exception):
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message["type"] == "websocket.receive":
                    await upstream.send(message.get("text") or message.get("bytes") or "")

    async def server_to_client() -> None:
        with suppress(Exception):
            async for data in upstream:
                key = "text" if isinstance(data, str) else "bytes"
                await send({"type": "websocket.send", key: data})
        with suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})

    tasks = [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running FaultProxy in front of ``upstream``, stopped on exit."""
    import uvicorn

    proxy = FaultProxy(upstream)
    server = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=proxy.port,
                                           log_level="warning", ws="websockets-sansio",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="fault-proxy", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fault proxy did not start")
        time.sleep(0.05)
    try:
        yield proxy
    finally:
        server.should_exit = True
        thread.join(timeout=30)
