"""A user's registered passkeys on Graph (`/users/{id}/authentication/fido2Methods`), from the tenant's
registered FIDO2 credentials: what an operator checks before a drill (which key models, which AAGUIDs,
attested or not). Key material never leaves the simulator: `publicKeyCredential` is write-only on Graph too.
"""

from __future__ import annotations

from drill.sim.graph.directory import find_user
from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    key_segment,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix

FIDO2 = QuerySpec(
    "fido2AuthenticationMethod",
    "fido2AuthenticationMethod",
    filterable={"aaGuid": ops("eq"), "id": ops("eq")},
    default_select=("id", "displayName", "createdDateTime", "aaGuid", "model", "attestationCertificates",
                    "attestationLevel", "passkeyType"),
)  # fmt: skip
READ_METHODS = Perms(
    delegated=("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"),
    application=("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"),
    self_delegated=("UserAuthenticationMethod.Read", "UserAuthenticationMethod.ReadWrite"),
)


def _view(record: Obj) -> Obj:
    return {
        "id": record["id"],
        "displayName": record.get("displayName"),
        "createdDateTime": record.get("createdDateTime"),
        "aaGuid": record.get("aaGuid"),
        "model": record.get("model"),
        "attestationCertificates": list(record.get("attestationCertificates") or []),
        "attestationLevel": record.get("attestationLevel", "notAttested"),
        "passkeyType": record.get("passkeyType", "deviceBound"),
    }


async def list_fido2(req: GraphRequest) -> GraphResponse:
    user = find_user(req, req.params["user"])
    items = [_view(p) for p in req.state.tenant.passkeys_of(user["id"])]
    frag = f"users{key_segment(req.params['user'])}/authentication/fido2Methods"
    return ok(collection(req, FIDO2, items, frag))


async def get_fido2(req: GraphRequest) -> GraphResponse:
    user = find_user(req, req.params["user"])
    found = next((p for p in req.state.tenant.passkeys_of(user["id"]) if p["id"] == req.params["id"]), None)
    if found is None:
        raise GraphError(404, "itemNotFound", "The requested authentication method was not found.")
    q = parse_query(req, FIDO2, collection=False)
    frag = f"users{key_segment(req.params['user'])}/authentication/fido2Methods{select_suffix(q)}/$entity"
    return ok({"@odata.context": f"{req.base}/$metadata#{frag}", **project(FIDO2, _view(found), q)})


def routes() -> list[RouteSpec]:
    base = r"/users/(?P<user>[^/()]+)/authentication/fido2Methods"
    return [
        route("GET", base, list_fido2, READ_METHODS, user_param="user"),
        route("GET", base + r"/(?P<id>[^/]+)", get_fido2, READ_METHODS, user_param="user"),
    ]
