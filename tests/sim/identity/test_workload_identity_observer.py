"""The observer the CI examples use (`kind: workload-identity`): the product's credential reads the federated
token from the file the CI job wrote and presents it as the client assertion, over real HTTPS.

The simulator has no federated identity credentials (it cannot check a GitHub- or Azure Pipelines-issued
token against an issuer's keys), so the token here is an assertion it does verify: signed by a certificate
registered on the observer app. What this proves is the product's path from the file to a token, and that
the file, not anything else, is what signs in: a token signed by an unregistered key is refused."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from cryptography.hazmat.primitives import serialization
from test_oidc_tokens import OBSERVER, _self_signed

from drill.assets import DEMO_PLAYBOOK
from drill.auth import observer_credential
from drill.clouds import cloud_for
from drill.errors import DrillUserError
from drill.playbook import load_playbook
from drill.playbook.model import WorkloadIdentityObserver
from drill.sim.identity.routes import configure_client_certificate
from drill.sim.server import SimServer
from drill.sim.state import token_service
from drill.sim.tokens import GRAPH_AUDIENCE

GRAPH = "https://graph.microsoft.com/.default"


def _assertion(sim: SimServer, key_pem: str) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    now = int(time.time())
    claims = {
        "iss": OBSERVER,
        "sub": OBSERVER,
        "aud": f"{sim.base_url}/{sim.state.tenant.id}/oauth2/v2.0/token",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]


def _playbook(sim: SimServer, token_file: Path | None) -> object:
    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)})
    observer = WorkloadIdentityObserver(kind="workload-identity", client_id=uuid.UUID(OBSERVER))
    if token_file is not None:
        observer = observer.model_copy(update={"token_file_path": token_file})
    return pb.model_copy(update={"observer": observer})


def test_the_token_file_is_what_signs_the_observer_in(
    sim: SimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_pem, cert_pem, _ = _self_signed()
    configure_client_certificate(sim.state, OBSERVER, cert_pem)
    token_file = tmp_path / "federated-token"
    token_file.write_text(_assertion(sim, key_pem), encoding="utf-8")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))  # as the CI examples set it

    pb = _playbook(sim, None)
    token = observer_credential(pb, cloud_for(pb)).get_token(GRAPH)  # type: ignore[arg-type]
    claims = token_service(sim.state).verify(token.token, (GRAPH_AUDIENCE,))
    assert claims["appid"] == OBSERVER
    assert claims["appidacr"] == "1"  # signed in with an assertion, not a secret

    other_key, _, _ = _self_signed()
    token_file.write_text(_assertion(sim, other_key), encoding="utf-8")
    pb = _playbook(sim, token_file)  # the playbook's token_file_path, this time
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        observer_credential(pb, cloud_for(pb)).get_token(GRAPH)  # type: ignore[arg-type]


def test_no_token_file_is_a_clear_error(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    pb = _playbook(sim, None)
    with pytest.raises(DrillUserError, match="AZURE_FEDERATED_TOKEN_FILE to the file the CI job writes"):
        observer_credential(pb, cloud_for(pb))  # type: ignore[arg-type]
