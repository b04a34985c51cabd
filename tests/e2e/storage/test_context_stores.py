"""Build-context stores (launch_core/storage/context_stores.py) against test doubles of the
clouds: moto's server for Amazon S3 and gcp-storage-emulator for Google Cloud
Storage, both over HTTP on 127.0.0.1. Upload, content address, download back
byte-identical, delete; errors as one line."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from launch_core.errors import InvalidInput
from launch_core.storage.context_stores import StoreError, open_object_store, parse_store_uri

SIZE = 9 * 1024 * 1024 + 17  # past boto3's multipart and GCS's multipart thresholds


def _tarball(tmp_path: Path, seed: bytes = b"a") -> Path:
    path = tmp_path / f"context-{seed.decode()}.tar.gz"
    block = hashlib.sha256(seed).digest() * 2048  # 64 KiB, not compressible to nothing
    with path.open("wb") as out:
        for index in range(SIZE // len(block)):
            out.write(block[index % 7:] + block[:index % 7])
        out.write(os.urandom(SIZE % len(block)))
    return path


def _s3_keys(bucket: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _gcs_keys(bucket: str) -> list[str]:
    from google.cloud import storage

    return [blob.name for blob in storage.Client().list_blobs(bucket)]


def test_s3_upload_is_content_addressed_downloads_identical_and_deletes(
        s3_bucket, tmp_path):
    _round_trip("s3", s3_bucket, _s3_keys, tmp_path)


def test_gcs_upload_is_content_addressed_downloads_identical_and_deletes(
        gcs_bucket, tmp_path):
    _round_trip("gs", gcs_bucket, _gcs_keys, tmp_path)


def _round_trip(scheme: str, bucket: str, keys: Callable[[str], list[str]],
                tmp_path: Path) -> None:
    store = open_object_store(f"{scheme}://{bucket}/builds/ctx/")
    tarball = _tarball(tmp_path)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()

    uri = store.upload(tarball)

    key = f"builds/ctx/sha256-{digest}.tar.gz"
    assert uri == f"{scheme}://{bucket}/{key}"
    assert keys(bucket) == [key]
    assert store.exists(uri)
    assert store.upload(tarball) == uri and keys(bucket) == [key]  # same content, one object
    other = store.upload(_tarball(tmp_path, b"b"))
    assert other != uri and len(keys(bucket)) == 2
    out = io.BytesIO()
    store.download(uri, out)
    assert out.getvalue() == tarball.read_bytes()

    store.delete(uri)
    assert keys(bucket) == [other.removeprefix(f"{scheme}://{bucket}/")]
    assert not store.exists(uri)
    store.delete(uri)  # already gone: nothing to do
    store.delete(other)
    assert keys(bucket) == []


def test_s3_store_error_is_one_line_without_credentials(s3_bucket, tmp_path):
    store = open_object_store(f"s3://{s3_bucket}-missing/ctx")
    with pytest.raises(StoreError) as caught:
        store.upload(_tarball(tmp_path))
    message = str(caught.value)
    assert message.startswith(f"store: upload s3://{s3_bucket}-missing/ctx/sha256-")
    assert message.endswith(".tar.gz failed: NoSuchBucket") and "\n" not in message
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in message.replace("store", "")


def test_gcs_store_error_names_the_object(gcs_bucket, tmp_path):
    store = open_object_store(f"gs://{gcs_bucket}-missing")
    with pytest.raises(StoreError, match=rf"^store: upload gs://{gcs_bucket}-missing/sha256-"):
        store.upload(_tarball(tmp_path))


@pytest.mark.parametrize(("uri", "message"), [
    ("ftp://bucket/p", "expected s3://BUCKET[/PREFIX] or gs://BUCKET[/PREFIX]"),
    ("bucket/p", "expected s3://"),
    ("s3://B/p", "'B' is not a valid bucket name"),
    ("gs://", "'' is not a valid bucket name"),
    ("s3://bucket/a//b", "prefix 'a//b' has an empty"),
    ("gs://bucket/a/../b", "has an empty, '.' or '..' part"),
])
def test_bad_store_uri_names_the_field(uri, message):
    with pytest.raises(InvalidInput, match=r"^build-context-store: ") as caught:
        parse_store_uri(uri)
    assert message in str(caught.value)


def test_store_uri_parts():
    location = parse_store_uri("gs://my-bucket/a/b/")
    assert (location.scheme, location.bucket, location.prefix) == ("gs", "my-bucket", "a/b")
    assert str(location) == "gs://my-bucket/a/b"
    assert str(parse_store_uri("s3://my-bucket")) == "s3://my-bucket"
    with pytest.raises(InvalidInput, match="is not in the store"):
        open_object_store("s3://my-bucket/a").delete("s3://other-bucket/a/x.tar.gz")
