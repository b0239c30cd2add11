"""What the simulator now shares between runs in one process, and what it must still keep apart.

The demo tenant's parsed YAML and the token signing key are made once per process (CPU the suite spent
hundreds of times); these tests pin that sharing them never lets one run see another's changes or accept
another's tokens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drill.sim.tenant import TenantFixtureError, load_tenant
from drill.sim.tokens import GRAPH_AUDIENCE, TokenError, TokenService

TID = "11111111-2222-4333-8444-555555555555"
FIXTURE = f"""tenant:
  id: {TID}
  displayName: First
users:
  - id: u1
    displayName: Ann
    otherMails: [ann@example.test]
"""


def test_tenants_loaded_from_one_file_share_no_mutable_object(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(FIXTURE, encoding="utf-8")
    first = load_tenant(path)
    first.users[0]["otherMails"].append("changed@example.test")
    first.users.append({"id": "u2"})
    second = load_tenant(path)
    assert [u["id"] for u in second.users] == ["u1"]
    assert second.users[0]["otherMails"] == ["ann@example.test"]


def test_an_edited_fixture_is_read_afresh(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(FIXTURE, encoding="utf-8")
    assert load_tenant(path).display_name == "First"
    path.write_text(FIXTURE.replace("First", "Other"), encoding="utf-8")  # same size, same second
    assert load_tenant(path).display_name == "Other"
    path.write_text("tenant: [", encoding="utf-8")
    with pytest.raises(TenantFixtureError, match="not valid YAML"):
        load_tenant(path)
    with pytest.raises(TenantFixtureError, match="not valid YAML"):
        load_tenant(tmp_path / "missing.yaml")


def test_a_token_from_one_run_never_verifies_at_another() -> None:
    one = TokenService(tenant_id=TID, issuer=f"https://127.0.0.1:1111/{TID}/v2.0")
    two = TokenService(tenant_id=TID, issuer=f"https://127.0.0.1:2222/{TID}/v2.0")
    token = one.issue({"aud": GRAPH_AUDIENCE})
    assert one.verify(token, (GRAPH_AUDIENCE,))["iss"] == one.issuer
    with pytest.raises(TokenError):
        two.verify(token, (GRAPH_AUDIENCE,))
