"""A user's passkeys through Graph: what was registered, never the key material."""

from __future__ import annotations

from typing import Any

from graph_support import EA01, EA02, bearer

from drill.sim.graph.odata import graph_types
from drill.sim.server import SimServer

AAGUID = "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"


def test_fido2_methods(sim: SimServer, delegated: Any, app_token: Any, api: Any) -> None:
    sim.state.tenant.passkeys.append({
        "id": "cred-1", "userId": EA01, "credentialId": "cred-1-full", "publicKey": "SECRET-COSE",
        "aaGuid": AAGUID, "signCount": 3, "displayName": "Vendor key", "model": "Vendor key",
        "createdDateTime": "2026-01-01T00:00:00Z", "attestationCertificates": ["abc"],
        "attestationLevel": "attested",
    })  # fmt: skip
    url = f"/users/{EA01}/authentication/fido2Methods"
    body = api.get(url, headers=bearer(app_token(roles=["UserAuthenticationMethod.Read.All"]))).json()
    [method] = body["value"]
    assert body["@odata.context"].endswith(f"#users('{EA01}')/authentication/fido2Methods")
    assert (method["aaGuid"], method["attestationLevel"], method["passkeyType"]) == (
        AAGUID,
        "attested",
        "deviceBound",
    )
    assert set(method) <= set(graph_types()["fido2AuthenticationMethod"]["properties"])
    assert "SECRET-COSE" not in str(body)
    one = api.get(f"{url}/cred-1", params={"$select": "aaGuid"},
                  headers=bearer(delegated(scopes="UserAuthenticationMethod.Read"))).json()  # fmt: skip
    assert one["aaGuid"] == AAGUID
    # the self-only scope does not reach someone else's methods; the observer's default roles do not either
    other = api.get(f"/users/{EA02}/authentication/fido2Methods",
                    headers=bearer(delegated(scopes="UserAuthenticationMethod.Read")))  # fmt: skip
    assert other.status_code == 403
    assert api.get(url, headers=bearer(app_token())).status_code == 403
    reader = bearer(app_token(roles=["UserAuthenticationMethod.Read.All"]))
    flt = {"$filter": "aaGuid eq 'd8a1c3e2-0002-4b1d-a5e1-5a1d0000b002'"}
    filtered = api.get(url, params=flt, headers=reader).json()
    assert filtered["value"] == []
