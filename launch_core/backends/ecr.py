"""AWS ECR: a login token from ``get_authorization_token`` (boto3)."""

from __future__ import annotations

import base64
import re
from typing import Any

from launch_core.backends.registry import Registry, RegistryAuth, RegistryAuthError

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class EcrRegistry(Registry):
    """ECR, authenticated with a fresh token from the AWS session given (or boto3's
    default chain). The region comes from the host or the session."""

    kind = "ecr"
    credentials_extra = "aws"
    credentials_block = "prefect_aws:AwsCredentials"

    def __init__(self, destination: str, *, credentials: Any = None,
                 region: str | None = None) -> None:
        super().__init__(destination, credentials=credentials, region=region)
        match = ECR_HOST.match(self.host)
        self.region = region or (match.group(2) if match else None)

    @staticmethod
    def credentials_from_block(block: Any) -> Any:
        """A boto3 session from an AwsCredentials block."""
        return block.get_boto3_session()

    def auth(self) -> RegistryAuth:
        import boto3

        session = self.credentials or boto3.session.Session()
        client = session.client("ecr", region_name=self.region or session.region_name)
        try:
            data = client.get_authorization_token()["authorizationData"][0]
        except Exception as exc:  # botocore errors: no credentials, denied...
            raise RegistryAuthError(f"ECR token for {self.host}: "
                                    f"{type(exc).__name__}") from None
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return RegistryAuth(user, password)
