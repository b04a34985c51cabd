"""GCP Artifact Registry (and gcr.io): ``oauth2accesstoken`` with an access token."""

from __future__ import annotations

from typing import Any

from launch_core.backends.registry import Registry, RegistryAuth, RegistryAuthError

_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


class ArtifactRegistry(Registry):
    """Artifact Registry with a token from the credentials given (e.g. a
    GcpCredentials block's) or application-default credentials."""

    kind = "gcp"
    credentials_extra = "gcp"
    credentials_block = "prefect_gcp:GcpCredentials"

    @staticmethod
    def credentials_from_block(block: Any) -> Any:
        """Google credentials from a GcpCredentials block's service account."""
        return block.get_credentials_from_service_account()

    def auth(self) -> RegistryAuth:
        try:
            import google.auth
            import google.auth.transport.requests

            credentials = self.credentials
            if credentials is None:
                credentials, _ = google.auth.default(scopes=_SCOPES)
            credentials.refresh(google.auth.transport.requests.Request())
        except Exception as exc:  # DefaultCredentialsError, RefreshError...
            raise RegistryAuthError(f"GCP token for {self.host}: "
                                    f"{type(exc).__name__}") from None
        return RegistryAuth("oauth2accesstoken", str(credentials.token))
