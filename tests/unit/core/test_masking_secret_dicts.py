"""A credentials block's secret mapping (prefect's SecretDict, as GcpCredentials holds
a service-account key file) is masked by its secret-looking keys when it has some, so
its identifying fields (project, e-mail) stay readable where they belong (a Vertex
job's resource name ``projects/<project>/...`` stored as the run's handle); a mapping
without such keys is masked whole. A multi-line secret (the key itself) is masked line
by line too."""

from __future__ import annotations

import json

from prefect.blocks.fields import SecretDict

from launch_core import masking


class Block:
    model_fields = {"service_account_info": None, "extra": None}

    def __init__(self, info: dict[str, str], extra: dict[str, str]) -> None:
        self.service_account_info = SecretDict(info)
        self.extra = SecretDict(extra)


def test_key_file_masks_its_key_not_its_project_or_email() -> None:
    info = {"type": "service_account", "project_id": "sweep-proj-1", "private_key_id": "kid-77abc",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIsweep88\n-----END PRIVATE KEY-----\n",
            "client_email": "job@sweep-proj-1.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token"}
    masking.add_block_secrets(Block(info, {"endpoint": "opaque-value-99"}))
    assert masking.mask("projects/sweep-proj-1/locations/x/customJobs/1") == (
        "projects/sweep-proj-1/locations/x/customJobs/1")
    assert masking.mask(f"{info['client_email']} service_account") == (
        f"{info['client_email']} service_account")
    assert masking.mask(f"key {info['private_key']} id kid-77abc") == "key *** id ***"
    assert masking.mask("at opaque-value-99") == "at ***"  # no secret-looking key: all


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIlineone77\nQQlinetwo88\n-----END PRIVATE KEY-----\n"
    masking.add_secret(pem)
    assert masking.mask(f"key: {pem}") == "key: ***"
    assert masking.mask("got QQlinetwo88 alone") == "got *** alone"
    assert masking.mask(json.dumps({"key": pem})) == '{"key": "***\\n***\\n***\\n***\\n"}'
