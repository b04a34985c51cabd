"""The few OCI distribution API calls relaunch makes (manifest existence)."""

from __future__ import annotations

import re
from typing import Any

from launch_core.backends.registry_auth import RegistryAuth, RegistryAuthError, RegistryError

_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def registry_scheme(host: str) -> str:
    """Plain HTTP for loopback registries (as Docker allows), HTTPS otherwise."""
    name = host.split(":")[0]
    return "http" if name in ("localhost", "::1") or name.startswith("127.") else "https"


def manifest_exists(host: str, repository: str, tag: str, auth: RegistryAuth | None,
                    timeout: float = 30.0) -> bool:
    """HEAD the manifest of ``repository:tag``. Raises RegistryAuthError on 401/403."""
    import httpx

    url = f"{registry_scheme(host)}://{host}/v2/{repository}/manifests/{tag}"
    headers = {"Accept": _ACCEPT}
    basic: tuple[str | bytes, str | bytes] | None = (
        (auth.username, auth.password) if auth else None)
    credentials: dict[str, Any] = {"auth": basic} if basic else {}
    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.head(url, headers=headers, **credentials)
            challenge = response.headers.get("www-authenticate", "")
            if response.status_code == 401 and challenge.lower().startswith("bearer"):
                token = _bearer_token(client, challenge, basic)
                response = client.head(url, headers={**headers,
                                                     "Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise RegistryError(f"registry {host}: {type(exc).__name__}") from None
    if response.status_code == 200:
        return True
    if response.status_code == 404:
        return False
    if response.status_code in (401, 403):
        raise RegistryAuthError(f"registry {host}: authentication failed "
                                f"(HTTP {response.status_code})")
    raise RegistryError(f"registry {host}: HTTP {response.status_code} checking {tag}")


def _bearer_token(client: Any, challenge: str,
                  basic: tuple[str | bytes, str | bytes] | None) -> str:
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", None)
    if not realm:
        raise RegistryError("registry sent a bearer challenge without a realm")
    response = client.get(realm, params=params, **({"auth": basic} if basic else {}))
    if response.status_code in (401, 403):
        raise RegistryAuthError("registry token service: authentication failed")
    body = response.json()
    token = body.get("token") or body.get("access_token")
    if not token:
        raise RegistryError("registry token service returned no token")
    return str(token)
