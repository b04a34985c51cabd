"""``--code`` past the blob table's 50 MiB kept in a code store (launch_core/
code_store.py), against moto's server as the test double of Amazon S3 and the GCS
emulator as the test double of Google Cloud Storage: stored under its sha256, read
back only from the agent's own store and only when the content matches its name,
removed when the item ends. End to end through the console scripts and a real agent
(local-process, on the session's Prefect server)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from launch_core.errors import InvalidInput
from launch_core.storage.code_store import (
    CODE_STORE_ENV,
    STORED_CODE,
    delete_code,
    read_code,
    store_code,
)
from tests.support.docker import aws_env, run_agent

BIG = 51 * 1024 * 1024  # past the blob table's 50 MiB, even compressed (random bytes)


def _code(root: Path, big: int = 0) -> Path:
    root.mkdir(parents=True)
    (root / "main.py").write_text(
        "import os\nprint('big file', os.path.getsize('big.bin') if os.path.exists('big.bin')"
        " else 0, flush=True)\n")
    if big:
        with (root / "big.bin").open("wb") as out:
            for _ in range(big // 2**20):
                out.write(os.urandom(2**20))
    return root


def _s3_keys(bucket: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_stored_code_round_trip_and_only_the_agents_store_is_read(s3_bucket, tmp_path):
    store = f"s3://{s3_bucket}/code"
    code = _code(tmp_path / "job")
    uri = store_code(code, store)
    match = STORED_CODE.match(uri)
    assert match and uri.startswith(f"{store}/sha256-")
    assert _s3_keys(s3_bucket) == [uri.removeprefix(f"s3://{s3_bucket}/")]
    data = read_code(uri, environ={CODE_STORE_ENV: store})
    assert hashlib.sha256(data).hexdigest() == match.group("hex")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["main.py"]
    again = store_code(code, store)
    assert again != uri and again[:-len("0123456789abcdef.tar.gz")] == \
        uri[:-len("0123456789abcdef.tar.gz")]  # same content, a copy per submission
    for environ in ({}, {CODE_STORE_ENV: f"s3://{s3_bucket}/other"}):
        with pytest.raises(InvalidInput, match=rf"not in this agent's code store "
                                               rf"\({CODE_STORE_ENV}="):
            read_code(uri, environ=environ)
        with pytest.raises(InvalidInput):
            delete_code(uri, environ=environ)
    delete_code(uri, environ={CODE_STORE_ENV: store})
    delete_code(again, environ={CODE_STORE_ENV: store})
    assert _s3_keys(s3_bucket) == []


def test_stored_code_that_does_not_match_its_name_is_refused(gcs_bucket, tmp_path):
    from google.cloud import storage

    store = f"gs://{gcs_bucket}"
    uri = store_code(_code(tmp_path / "job"), store)
    blob = storage.Client().bucket(gcs_bucket).blob(uri.removeprefix(f"{store}/"))
    blob.upload_from_string(b"not the tarball")
    with pytest.raises(InvalidInput, match="does not match its sha256"):
        read_code(uri, environ={CODE_STORE_ENV: store})


def test_big_code_goes_to_the_code_store_runs_and_is_removed(
        relaunch, cli_store, s3_bucket, moto_server, tmp_path):
    code = _code(tmp_path / "job", big=BIG)
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    launch = ("launch", "-q", "q", "--code", str(code), "-E", "python3 main.py", "--json")
    refused = relaunch(*launch, env=aws_env(moto_server))
    assert refused.code == 2 and CODE_STORE_ENV in refused.err
    env = {**aws_env(moto_server), CODE_STORE_ENV: f"s3://{s3_bucket}/code"}
    preview = relaunch(*launch, "--dry-run", env=env, timeout=120)
    assert preview.code == 0, preview.err
    assert _s3_keys(s3_bucket) == []  # a dry run uploads nothing
    submitted = relaunch(*launch, env=env, timeout=120)
    assert submitted.code == 0, submitted.err
    job = int(submitted.json()["id"])
    item = cli_store.get_item(job)
    assert item.spec.code and item.spec.code.startswith(f"s3://{s3_bucket}/code/sha256-")
    assert _s3_keys(s3_bucket) == [item.spec.code.removeprefix(f"s3://{s3_bucket}/")]
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({"queues": ["q"]}))

    agent = run_agent(relaunch, config, env=env)

    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert relaunch("job", "logs", str(job)).out.strip() == f"big file {BIG}"
    assert _s3_keys(s3_bucket) == []  # removed when the item ended
