"""Secret values are masked by value wherever relaunch records or shows them."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from launch_core import masking
from launch_core.backends.registry import RegistryAuth
from launch_core.spec.macros import fill_macros
from launch_core.store import QueueStore


def test_a_value_filled_from_the_agent_environment_is_masked_in_any_text() -> None:
    filled = fill_macros({"DATASET_URL": "https://r:${DS_KEY_A}@h/x"}, {},
                         env={"DS_KEY_A": "ds-key-one-111"})
    assert filled == {"DATASET_URL": "https://r:ds-key-one-111@h/x"}  # the job gets it
    assert masking.mask("clone https://r:ds-key-one-111@h/x failed") == (
        "clone https://r:***@h/x failed")


def test_known_macros_and_short_values_are_not_secrets() -> None:
    fill_macros("${run_id} ${SHORT_B}", {"run_id": "runid-secret-like"}, env={"SHORT_B": "us"})
    assert masking.mask("runid-secret-like us") == "runid-secret-like us"


def test_registry_passwords_and_block_secrets_are_masked() -> None:
    RegistryAuth("user", "registry-pw-222")

    class Block:
        model_fields = {"aws_secret_access_key": None, "region_name": None, "info": None}
        aws_secret_access_key = SecretStr("aws-secret-333")
        region_name = "eu-west-1"
        info = {"private_key": "pk-data-444", "project": "proj-visible"}

    masking.add_block_secrets(Block())
    text = masking.mask("registry-pw-222 aws-secret-333 pk-data-444 eu-west-1 proj-visible")
    assert text == "*** *** *** eu-west-1 proj-visible"


def test_redact_hides_secret_keys_and_masks_values_in_data() -> None:
    masking.add_secret("nested-secret-555")
    data = {"password": "x", "url": "a/nested-secret-555/b", "list": [{"token": 1}, "ok"]}
    assert masking.redact(data) == {"password": "***", "url": "a/***/b",
                                    "list": [{"token": "***"}, "ok"]}


def test_log_records_are_masked_with_their_arguments_and_traceback() -> None:
    masking.add_secret("log-secret-666")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", ("log-secret-666",),
                               None)
    try:
        raise ValueError("boom log-secret-666")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    masking.MaskFilter().filter(record)
    assert record.getMessage() == "got ***"
    assert "log-secret-666" not in (record.exc_text or "") and "boom ***" in record.exc_text


@pytest.fixture
def store(tmp_path) -> QueueStore:
    return QueueStore(f"sqlite:///{tmp_path}/q.db")


def test_the_store_masks_reasons_handles_and_event_messages(store: QueueStore) -> None:
    from launch_core.api import create_queue, launch

    masking.add_secret("store-secret-777")
    queue = create_queue(store, "q", "local-process", entity="team")
    item = launch(store, "q", {"image": "img"}, entity="team")
    claimed = store.claim("agent-1", [queue.id])[0]
    store.transition(item.id, "submitted", actor="agent-1", claim=claimed.claim,
                     handle={"url": "https://u:store-secret-777@h"},
                     message="started with store-secret-777")
    store.fail(item.id, "run", "exit: store-secret-777 refused", actor="agent-1",
               claim=claimed.claim)
    stored = store.get_item(item.id)
    assert stored.handle == {"url": "https://u:***@h"}
    assert stored.reason == "exit: *** refused"
    messages = [event.message or "" for event in store.events_for(item.id)]
    assert "started with ***" in messages
    assert not any("store-secret-777" in message for message in messages)
