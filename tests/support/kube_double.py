"""Test double of a Kubernetes cluster: kmock's KubernetesEmulator (an in-memory
Kubernetes API over HTTP, and over HTTPS with a self-signed certificate for the
in-cluster loader, on 127.0.0.1) and ``JobController`` (tests/kubernetes/
kube_controller.py), a kwok-like controller that gives Jobs and custom resources
pods and runs the pods' containers on the local Docker daemon (``--network none``).

The emulator's gaps are worked around here, never in the product: label selectors
of pod listings are applied by a reaction below; the pod ``log`` subresource is
served from the pod's container; objects have no resourceVersion and a create
answers 200 (the product relies on neither).

Everything runs on one event loop in a thread; the test reads the state through
the thread-safe helpers (``objects``, ``deletes``, ``evict``, ``set_suspend``).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import kmock
from aiohttp.test_utils import RawTestServer
from kmock._internal.apps import Server

from tests.support.kube_controller import PODS, JobController


class KubeDouble:
    """The emulator and its controller, started by ``start`` and stopped by ``stop``."""

    def __init__(self, docker: Any, token: str, folder: Path, gpus: int = 8) -> None:
        self.emulator = kmock.KubernetesEmulator()
        self.controller = JobController(self.emulator, docker, token, gpus)
        self.folder = folder
        self.url = self.tls_url = ""
        self.ca_file = folder / "ca.crt"
        self._loop = asyncio.new_event_loop()
        self._stopped: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="kube-double", daemon=True)
        self._ready: Future[None] = Future()

    def start(self) -> KubeDouble:
        context = _self_signed(self.folder)
        self._tls_context = context
        self._thread.start()
        self._ready.result(timeout=30)
        return self

    def stop(self) -> None:
        if self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=30)
        self.controller.remove_containers()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stopped = asyncio.Event()
        self._react()
        context = self._tls_context

        class TlsServer(RawTestServer):
            async def start_server(self, **kwargs: Any) -> None:
                await super().start_server(ssl=context, **kwargs)

        try:
            async with self.emulator, Server(self.emulator) as http, \
                    Server(self.emulator, server_cls=TlsServer) as https:
                self.url = str(http.url).rstrip("/")
                self.tls_url = str(https.url).rstrip("/")
                task = asyncio.create_task(self.controller.run())
                self._ready.set_result(None)
                await self._stopped.wait()
                task.cancel()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def _react(self) -> None:
        emulator = self.emulator
        emulator[kmock.action.LIST, PODS] << self._list_pods
        emulator["get", PODS, kmock.subresource("log")] << self._pod_log

    def _list_pods(self, request: kmock.Request) -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in
                      (request.params.get("labelSelector") or "").split(",") if "=" in part)
        items = [obj.raw for (resource, namespace, _), obj in self.emulator.objects.items()
                 if resource == PODS and not obj.deleted and namespace == request.namespace
                 and all(obj.raw.get("metadata", {}).get("labels", {}).get(k) == v
                         for k, v in wanted.items())]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    async def _pod_log(self, request: kmock.Request) -> bytes:
        return await asyncio.to_thread(self.controller.pod_log, request.namespace or "",
                                       request.name or "")

    # --- what the tests read and do --------------------------------------------

    def call(self, function: Any, *args: Any) -> Any:
        """``function(*args)`` on the double's loop (its state is the loop's)."""

        async def run() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def objects(self, plural: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Live objects of the resource ``plural`` by (namespace, name)."""

        def read() -> dict[tuple[str, str], dict[str, Any]]:
            return {(namespace or "", name): json.loads(json.dumps(obj.raw))
                    for (resource, namespace, name), obj in self.emulator.objects.items()
                    if resource.plural == plural and not obj.deleted}

        return dict(self.call(read))

    def ever_created(self, plural: str) -> list[str]:
        """Names of every object of ``plural`` ever created, deleted ones too."""

        def read() -> list[str]:
            return [name for (resource, _, name) in self.emulator.objects
                    if resource.plural == plural]

        return list(self.call(read))

    def deletes(self) -> list[tuple[str, dict[str, str]]]:
        """(path, query parameters) of every DELETE request the emulator answered."""
        return list(self.call(lambda: [(str(r.url.path), dict(r.params))
                                       for r in list(self.emulator) if r.method == "DELETE"]))

    def evict(self, job: str) -> None:
        """Evict the running pods of ``job`` (DisruptionTarget, as preemption does)."""
        self.call(self.controller.evict, job)

    def set_suspend(self, namespace: str, job: str, suspend: bool) -> None:
        """Suspend or resume the batch Job ``job`` as Kueue does: a merge patch of its
        ``spec.suspend`` through the API (the controller then deletes or makes pods)."""
        request = urllib.request.Request(
            f"{self.url}/apis/batch/v1/namespaces/{namespace}/jobs/{job}", method="PATCH",
            data=json.dumps({"spec": {"suspend": suspend}}).encode(),
            headers={"Content-Type": "application/merge-patch+json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200, answer.status

    def runs(self, job: str) -> list[dict[str, str]]:
        """The environment of each container started for ``job``'s pods."""
        return [run["env"] for run in self.call(lambda: list(self.controller.runs))
                if run["job"] == job]

    def kubeconfig(self, path: Path, namespace: str | None = None) -> Path:
        """A kube config (JSON is YAML) whose current context is this double."""
        context: dict[str, Any] = {"cluster": "double", "user": "tester"}
        if namespace:
            context["namespace"] = namespace
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "double",
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "double-token"}}],
            "contexts": [{"name": "double", "context": context}]}))
        return path

    def service_account(self, folder: Path, namespace: str) -> dict[str, str]:
        """A service-account folder (token, ca.crt, namespace) and the environment
        an agent in a pod of this double's cluster would have."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text("double-service-account-token")
        (folder / "namespace").write_text(namespace)
        (folder / "ca.crt").write_bytes(self.ca_file.read_bytes())
        host, _, port = self.tls_url.removeprefix("https://").rpartition(":")
        return {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
                "RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR": str(folder)}


def running(double: KubeDouble) -> Iterator[KubeDouble]:
    """Start ``double``; stop it (and remove its containers) afterwards."""
    double.start()
    try:
        yield double
    finally:
        double.stop()


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A TLS context with a new self-signed certificate for 127.0.0.1 (its
    certificate is written to ``folder/ca.crt`` for the clients)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-double")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "ca.crt", folder / "tls.key")
    return context
