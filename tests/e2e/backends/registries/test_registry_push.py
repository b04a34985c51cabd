"""Registry.push against the real daemon: transient failures are retried with
backoff, authentication failures are not, and the password never shows."""

from __future__ import annotations

from launch_core.backends import registry as registry_base
from launch_core.backends.registries import (
    RegistryAuth,
    RegistryAuthError,
    RegistryError,
    make_registry,
)


def _tagged(docker_env, target: str) -> str:
    docker_env.client.images.get(docker_env.base_image).tag(target)
    return target


def test_push_to_an_unreachable_registry_is_retried_then_fails(docker_env, names, monkeypatch):
    monkeypatch.setattr(registry_base.time, "sleep", lambda _s: None)  # keep the test short
    registry = make_registry(f"127.0.0.1:9/{names.repository}")  # port 9: nothing listens
    image = _tagged(docker_env, registry.image("unreachable"))
    lines: list[str] = []
    try:
        try:
            registry.push(docker_env.client, image, lines.append)
            raise AssertionError("push to an unreachable registry succeeded")
        except RegistryAuthError as exc:
            raise AssertionError(f"connection failure taken for an auth error: {exc}") from exc
        except RegistryError:
            pass
        retries = [line for line in lines if " retry " in line]
        assert len(retries) == registry_base.PUSH_ATTEMPTS - 1
    finally:
        docker_env.client.images.remove(image, force=True)


def test_push_with_wrong_password_fails_at_once_without_the_password(docker_env, names):
    auth = RegistryAuth(docker_env.user, "definitely-wrong-pw-42")
    registry = make_registry(f"{docker_env.auth_registry}/{names.repository}", "oci",
                             credentials=auth)
    image = _tagged(docker_env, registry.image("denied"))
    lines: list[str] = []
    try:
        try:
            registry.push(docker_env.client, image, lines.append)
            raise AssertionError("push with a wrong password succeeded")
        except RegistryAuthError as exc:
            message = str(exc)
        assert not [line for line in lines if " retry " in line]
        assert "authentication" in message
        assert "definitely-wrong-pw-42" not in message + "".join(lines) + repr(auth)
    finally:
        docker_env.client.images.remove(image, force=True)
