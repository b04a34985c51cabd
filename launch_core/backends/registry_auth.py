"""A registry's credentials and errors, shared by the registry interface and the
OCI distribution API calls it makes."""

from __future__ import annotations

from dataclasses import dataclass, field

from launch_core.errors import LaunchError
from launch_core.masking import add_secret


class RegistryError(LaunchError):
    """A registry refused or failed a request (the message never holds a secret)."""


class RegistryAuthError(RegistryError):
    """The registry rejected our credentials (or we had none): not retried."""


@dataclass(frozen=True)
class RegistryAuth:
    """A username and password (or token) for one registry host."""

    username: str
    password: str = field(repr=False)

    def docker_auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def __post_init__(self) -> None:
        add_secret(self.password)
