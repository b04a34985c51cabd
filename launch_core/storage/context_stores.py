"""Build-context (and code) stores: a packed tarball kept in a bucket under a
prefix, ``s3://bucket/prefix`` or ``gs://bucket/prefix``, for a builder that runs
elsewhere (kaniko reads its ``--context`` from there).

- Objects are content-addressed: ``<prefix>/sha256-<hex of the tarball>.tar.gz``.
- Uploads and downloads stream from and to files (multipart or resumable), never
  holding the tarball in memory.
- The caller deletes an object when its build or item ends.
- ``s3://`` goes through boto3: an AwsCredentials block's session, a boto3 session,
  or the default chain; AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) points it at an
  S3-compatible endpoint (moto, MinIO).
- ``gs://`` goes through google-cloud-storage: a GcpCredentials block, Google
  credentials, or application-default credentials; STORAGE_EMULATOR_HOST points it
  at an emulator (no credentials then).

boto3 and google-cloud-storage are imported inside the methods (extras ``aws`` and
``gcp``).
"""

from __future__ import annotations

import hashlib
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from launch_core.errors import InvalidInput, LaunchError
from launch_core.masking import add_block_secrets

SCHEMES = ("s3", "gs")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
_CHUNK = 1024 * 1024


class StoreError(LaunchError):
    """A store refused or failed a request (one line, no secret)."""


@dataclass(frozen=True)
class StoreLocation:
    """A parsed ``scheme://bucket/prefix``."""

    scheme: str
    bucket: str
    prefix: str  # without leading or trailing slashes; may be empty

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{key}"

    def __str__(self) -> str:
        return self.uri(self.prefix).rstrip("/")


def parse_store_uri(value: str, field: str = "build-context-store") -> StoreLocation:
    """``value`` as a store location. Raises InvalidInput naming ``field``."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep or scheme not in SCHEMES:
        raise InvalidInput(f"{field}: expected s3://BUCKET[/PREFIX] or gs://BUCKET[/PREFIX], "
                           f"got {value!r}")
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise InvalidInput(f"{field}: {bucket!r} is not a valid bucket name")
    prefix = prefix.strip("/")
    if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
        raise InvalidInput(f"{field}: prefix {prefix!r} has an empty, '.' or '..' part")
    return StoreLocation(scheme, bucket, prefix)


def file_digest(path: Path) -> str:
    """The sha256 (hex) of the file at ``path``, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class ContextStore(ABC):
    """Tarballs under one location; ``credentials`` as the subclass reads them."""

    def __init__(self, location: StoreLocation, credentials: Any = None) -> None:
        self.location, self.credentials = location, credentials
        add_block_secrets(credentials)  # a credentials block's keys are masked from now on

    def object_uri(self, digest: str, owner: str | None = None) -> str:
        """Where the tarball with sha256 ``digest`` (hex) is kept; with ``owner``, a
        copy of its own (``sha256-<hex>-<owner>.tar.gz``) that no one else deletes."""
        name = f"sha256-{digest}-{owner}" if owner else f"sha256-{digest}"
        return self.location.uri(self.location.key(f"{name}.tar.gz"))

    def upload(self, path: Path, owner: str | None = None) -> str:
        """Stream the tarball at ``path`` to its content address (see ``object_uri``);
        return its URI. An object already there (same content) is not sent again."""
        uri = self.object_uri(file_digest(path), owner)
        if not self.exists(uri):
            self._put(self._key(uri), path)
        return uri

    def download(self, uri: str, out: BinaryIO) -> None:
        """Stream the object at ``uri`` into ``out``."""
        self._get(self._key(uri), out)

    def delete(self, uri: str) -> None:
        """Remove the object at ``uri`` (absent already: nothing to do)."""
        self._delete(self._key(uri))

    def exists(self, uri: str) -> bool:
        return self._exists(self._key(uri))

    def _key(self, uri: str) -> str:
        base = self.location.uri("")
        if not uri.startswith(base):
            raise InvalidInput(f"{uri!r} is not in the store {self.location}")
        return uri.removeprefix(base)

    @abstractmethod
    def _put(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def _get(self, key: str, out: BinaryIO) -> None: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    @abstractmethod
    def _exists(self, key: str) -> bool: ...


class S3Store(ContextStore):
    """``s3://``: boto3 with an AwsCredentials block, a boto3 session or the default
    chain; AWS_ENDPOINT_URL(_S3) honoured."""

    def __init__(self, location: StoreLocation, credentials: Any = None) -> None:
        super().__init__(location, credentials)
        self._client: Any = None

    @property
    def region(self) -> str | None:
        """The region the client uses (kaniko needs one to read the context)."""
        return str(self._s3().meta.region_name or "") or None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            session = self.credentials
            if hasattr(session, "get_boto3_session"):
                session = session.get_boto3_session()
            session = session or boto3.session.Session()
            endpoint = s3_endpoint()
            self._client = session.client("s3", **({"endpoint_url": endpoint}
                                                   if endpoint else {}))
        return self._client

    def _put(self, key: str, path: Path) -> None:
        with path.open("rb") as handle:
            self._call("upload", key, lambda: self._s3().upload_fileobj(
                handle, self.location.bucket, key))

    def _get(self, key: str, out: BinaryIO) -> None:
        self._call("download", key, lambda: self._s3().download_fileobj(
            self.location.bucket, key, out))

    def _delete(self, key: str) -> None:
        self._call("delete", key, lambda: self._s3().delete_object(
            Bucket=self.location.bucket, Key=key))

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._s3().head_object(Bucket=self.location.bucket, Key=key)
            return True
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey",
                                                                    "NotFound"):
                return False
            raise StoreError(_describe("check", self.location.uri(key), exc)) from None

    def _call(self, verb: str, key: str, call: Any) -> None:
        try:
            call()
        except Exception as exc:  # botocore ClientError, NoCredentialsError, connection
            raise StoreError(_describe(verb, self.location.uri(key), exc)) from None


class GcsStore(ContextStore):
    """``gs://``: google-cloud-storage with a GcpCredentials block, Google credentials
    or application-default credentials; STORAGE_EMULATOR_HOST honoured."""

    def __init__(self, location: StoreLocation, credentials: Any = None) -> None:
        super().__init__(location, credentials)
        self._bucket: Any = None

    def _blob(self, key: str) -> Any:
        if self._bucket is None:
            from google.cloud import storage

            if hasattr(self.credentials, "get_cloud_storage_client"):
                client = self.credentials.get_cloud_storage_client()
            else:
                client = storage.Client(credentials=self.credentials)
            self._bucket = client.bucket(self.location.bucket)
        return self._bucket.blob(key)

    def _put(self, key: str, path: Path) -> None:
        with path.open("rb") as handle:
            self._call("upload", key, lambda: self._blob(key).upload_from_file(
                handle, content_type="application/gzip", size=path.stat().st_size))

    def _get(self, key: str, out: BinaryIO) -> None:
        self._call("download", key, lambda: self._blob(key).download_to_file(out))

    def _delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self._blob(key).delete()
        except NotFound:
            return
        except Exception as exc:
            raise StoreError(_describe("delete", self.location.uri(key), exc)) from None

    def _exists(self, key: str) -> bool:
        try:
            return bool(self._blob(key).exists())
        except Exception as exc:
            raise StoreError(_describe("check", self.location.uri(key), exc)) from None

    def _call(self, verb: str, key: str, call: Any) -> None:
        try:
            call()
        except Exception as exc:  # google.api_core errors, DefaultCredentialsError
            raise StoreError(_describe(verb, self.location.uri(key), exc)) from None


def s3_endpoint() -> str | None:
    """The S3 endpoint the environment names (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def open_object_store(uri: str | StoreLocation, credentials: Any = None,
                      field: str = "build-context-store") -> ContextStore:
    """The object store (a build-context or code store, not the queue store) for
    ``uri`` (s3:// or gs://). Raises InvalidInput naming ``field``."""
    location = uri if isinstance(uri, StoreLocation) else parse_store_uri(uri, field)
    store: type[ContextStore] = S3Store if location.scheme == "s3" else GcsStore
    return store(location, credentials)


def _describe(verb: str, uri: str, exc: BaseException) -> str:
    """One line: what failed where, the error's type and code (never credentials)."""
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    code = code or str(getattr(exc, "code", "") or "")
    kind = type(exc).__name__
    return f"store: {verb} {uri} failed: {kind}{f' {code}' if code and code != kind else ''}"
