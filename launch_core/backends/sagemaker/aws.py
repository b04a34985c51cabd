"""AWS access for the ``sagemaker`` resource: boto3 clients from an ``AwsCredentials``
block (prefect-aws) named by RELAUNCH_AWS_CREDENTIALS_BLOCK, else boto3's default
chain (with its AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SAGEMAKER... settings); reading a
training job's CloudWatch log streams; botocore's error codes."""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

from launch_core.errors import InvalidInput

BLOCK_ENV = "RELAUNCH_AWS_CREDENTIALS_BLOCK"  # an AwsCredentials block's name
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class Aws:
    """boto3 clients for one region, from a credentials block or the default chain."""

    def __init__(self, region: str, block: str | None, profile: str | None) -> None:
        self.region, self.block, self.profile = region, block or None, profile or None

    @classmethod
    def open(cls, region: str | None, profile: str | None) -> Aws:
        """The region given (the queue's), else AWS_REGION, AWS_DEFAULT_REGION, else the
        credentials' own (the block's or the profile's). Raises InvalidInput without one."""
        block = os.environ.get(BLOCK_ENV) or None
        region = region or default_region() or _session(block, profile).region_name
        if not region:
            raise InvalidInput("sagemaker: no AWS region: set 'region' in the queue config, "
                               "or AWS_REGION on the agent")
        return cls(region, block, profile)

    @classmethod
    def of(cls, handle: dict[str, Any]) -> Aws:
        return cls(handle["region"], handle.get("credentials_block"), handle.get("profile"))

    def client(self, service: str) -> Any:
        return _client(self.block, self.profile, self.region, service)


_CLIENTS_LOCK = threading.Lock()  # a boto3 session is not thread-safe; its clients are


@functools.lru_cache(maxsize=64)
def _client(block: str | None, profile: str | None, region: str, service: str) -> Any:
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 8})
    with _CLIENTS_LOCK:
        return _session(block, profile).client(service, region_name=region, config=config)


@functools.lru_cache(maxsize=16)
def _session(block: str | None, profile: str | None) -> Any:
    import boto3

    if block is None:
        return boto3.session.Session(profile_name=profile)
    from launch_core.backends.credentials import load_block

    credentials = load_block("prefect_aws:AwsCredentials", block, setting=BLOCK_ENV, extra="aws")
    return credentials.get_boto3_session()


def default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def log_streams(logs: Any, name: str) -> list[str]:
    """The names of training job ``name``'s log streams (one per instance), sorted."""
    streams: list[str] = []
    try:
        for page in logs.get_paginator("describe_log_streams").paginate(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"):
            streams += [s["logStreamName"] for s in page.get("logStreams", [])]
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":  # no log group yet
            raise
    return sorted(streams)


def log_events(logs: Any, stream: str, token: str | None) -> tuple[list[str], str | None]:
    """The stream's events after ``token`` (all pages), and the token to go on from."""
    lines: list[str] = []
    while True:
        args = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                                   startFromHead=True, **args)
        lines += [event["message"].rstrip("\n") for event in page.get("events", [])]
        if not page.get("events") or page.get("nextForwardToken") in (None, token):
            return lines, page.get("nextForwardToken") or token
        token = page["nextForwardToken"]


def is_aws_error(exc: Exception) -> bool:
    """Whether ``exc`` came from botocore (a refusal, a network or credentials error)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)


def describe_error(exc: Exception) -> str:
    """An AWS error in a few words: its code (no message, which may quote the request)."""
    return error_code(exc) or type(exc).__name__


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError, else ""."""
    response = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", "")) if response else ""
