"""The vertex resource's credentials from a prefect-gcp GcpCredentials block, saved in
the session's Prefect server, against the Vertex FAKE (tests/support/vertex_fake.py, a
test double of Vertex AI's JobService REST API)."""

from __future__ import annotations

import uuid
from pathlib import Path

from launch_core.backends.resource import JobContext
from launch_core.backends.vertex.resource import VertexResource, VertexSettings

CONFIG = {"spec": {"staging_bucket": "gs://bucket",
                   "worker_pool_specs": [{"machine_spec": {"machine_type": "n1-standard-4"}}]}}
EMAIL = "relaunch@block-proj.iam.gserviceaccount.com"


def _service_account() -> tuple[dict[str, str], str]:
    """A service account's key file (fields as Google issues them) and its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    info = {"type": "service_account", "project_id": "block-proj", "private_key_id": "k1",
            "private_key": pem, "client_email": EMAIL, "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}
    return info, public.decode()


def test_credentials_block_signs_the_api_calls_and_names_the_project(prefect_api, vertex_fake):
    """The client signs its own JWT with the block's key (no token exchange), so the
    fake sees a bearer token that the block's public key verifies."""
    from google.auth import jwt
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_gcp import GcpCredentials

    name = f"vertex-{uuid.uuid4().hex[:10]}"
    info, public_key = _service_account()
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        GcpCredentials(service_account_info=info).save(name)
        resource = VertexResource(VertexSettings(None, "us-east1", vertex_fake.url, name))
        job = JobContext(run_id="blk1", item_id=1, entry_point=None, args=[], env={},
                         config=CONFIG, run_dir=Path("."), workdir=None, image="img:1")
        handle = resource.submit(job)
    assert handle["name"].startswith("projects/block-proj/locations/us-east1/customJobs/")
    assert len(vertex_fake.auth) == 2  # the list of find, then the create
    for header in vertex_fake.auth:
        assert header is not None and header.startswith("Bearer ")
        claims = jwt.decode(header.removeprefix("Bearer "), certs=public_key, verify=True)
        assert claims["iss"] == EMAIL
    assert "private_key" not in str(handle)
