"""The backend table: names, loading, and one clear line when an extra is missing."""

from __future__ import annotations

import asyncio
import sys

import pytest

from launch_core.backends.resource import Resource, get_resource
from launch_core.backends.table import BACKENDS, load_class, names
from launch_core.errors import InvalidInput, MissingExtra
from launch_core.store.engine import create_store_engine


def test_every_table_entry_loads_a_class_of_its_kind_named_as_in_the_table() -> None:
    for name in names("resource"):
        cls = load_class("resource", name)
        assert issubclass(cls, Resource) and cls.name == name
    for kind in ("builder", "registry"):
        for name in names(kind):
            assert load_class(kind, name).__name__


def test_an_unknown_backend_lists_the_available_ones() -> None:
    with pytest.raises(InvalidInput, match=r"resource 'slurm' is not available .*local-process"):
        get_resource("slurm")


@pytest.mark.parametrize(("kind", "name", "module", "extra"), [
    ("registry", "ecr", "boto3", "aws"),
    ("registry", "gcp", "google.auth", "gcp"),
])
def test_a_backend_whose_extra_is_missing_names_the_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, kind: str, name: str, module: str,
        extra: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(MissingExtra) as info:
        load_class(kind, name)
    assert str(info.value) == (f"{kind} {name!r} needs the {extra} extra: "
                               f"pip install 'relaunch[{extra}]'")
    assert BACKENDS[kind][name].extra == extra


def test_a_postgresql_store_without_the_postgres_extra_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtra, match=r"pip install 'relaunch\[postgres\]'"):
        create_store_engine("postgresql://u@127.0.0.1:1/db")


def test_the_local_backends_need_no_extra() -> None:
    assert get_resource("local-process").needs_image is False
    for kind, name in (("resource", "local-process"), ("resource", "local-container"),
                       ("builder", "noop"), ("builder", "docker")):
        assert BACKENDS[kind][name].extra is None


@pytest.mark.parametrize(("kind", "module", "extra"), [
    ("oci", "prefect_docker", "docker"), ("ecr", "prefect_aws", "aws"),
    ("gcp", "prefect_gcp", "gcp")])
def test_a_credentials_block_whose_extra_is_missing_names_the_extra(
        monkeypatch: pytest.MonkeyPatch, kind: str, module: str, extra: str) -> None:
    from flows.registry_setup import load_block_credentials

    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtra, match=rf"pip install 'relaunch\[{extra}\]'"):
        asyncio.run(load_block_credentials(load_class("registry", kind), "any-block"))
