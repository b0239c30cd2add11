"""Directory objects on Graph: users (/me too), groups and members, memberOf, administrative units, and
revokeSignInSessions.

Users come back with Graph's default property set unless `$select` asks for more: `accountEnabled` is not
in it, exactly as on Microsoft's service, so a client that forgets to select it sees null and must fail.
"""

from __future__ import annotations

from typing import Any

from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    iso,
    not_found,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix
from drill.sim.state import AuditEvent

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
GROUP_DEFAULT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)

_STR = ops("eq", "ne", "startswith", "in")
USERS = QuerySpec(
    "user",
    "User",
    filterable={
        "id": ops("eq", "in"),
        "userPrincipalName": _STR,
        "displayName": _STR,
        "mail": _STR,
        "accountEnabled": ops("eq", "ne"),
        "userType": ops("eq", "ne"),
    },
    orderable=frozenset({"displayName", "userPrincipalName"}),
    default_select=USER_DEFAULT,
)
GROUPS = QuerySpec(
    "group",
    "Group",
    filterable={
        "id": ops("eq", "in"),
        "displayName": _STR,
        "isAssignableToRole": ops("eq"),
        "securityEnabled": ops("eq"),
        "mailEnabled": ops("eq"),
    },
    orderable=frozenset({"displayName"}),
    default_select=GROUP_DEFAULT,
)
AUNITS = QuerySpec(
    "administrativeUnit", "AdministrativeUnit", filterable={"id": ops("eq"), "displayName": _STR}
)
# directoryObject collections (members, memberOf): each item keeps its own type's default view
OBJECTS = QuerySpec("user", "DirectoryObject", supports_select=False, raw=True)
# members and transitiveMemberOf take $select over the types they mix (BELIEF: properties of any member type)
MEMBERS = QuerySpec(
    "user", "DirectoryObject", raw=True, select_types=("user", "group", "administrativeUnit", "directoryRole")
)

READ_USERS = Perms(
    delegated=(
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ),
    application=("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    self_delegated=("User.Read", "User.ReadWrite"),
)
READ_GROUPS = Perms(
    delegated=(
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ),
    application=(
        "GroupMember.Read.All",
        "Group.Read.All",
        "Directory.Read.All",
        "Group.ReadWrite.All",
        "Directory.ReadWrite.All",
    ),
)
LIST_USERS = Perms(delegated=READ_USERS.delegated, application=READ_USERS.application)
MEMBER_OF = Perms(
    delegated=(*READ_GROUPS.delegated, "User.Read.All"),
    application=(*READ_GROUPS.application, "User.Read.All"),
    self_delegated=("User.Read",),
)
READ_AUS = Perms(
    delegated=(
        "AdministrativeUnit.Read.All",
        "Directory.Read.All",
        "AdministrativeUnit.ReadWrite.All",
        "Directory.ReadWrite.All",
    ),
    application=(
        "AdministrativeUnit.Read.All",
        "Directory.Read.All",
        "AdministrativeUnit.ReadWrite.All",
        "Directory.ReadWrite.All",
    ),
)
REVOKE = Perms(
    delegated=("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
)


# -- shapes used by other Graph modules too --
def find_user(req: GraphRequest, key: str) -> Obj:
    user = req.state.tenant.user(key)
    if user is None:
        raise not_found(key)
    return user


def directory_object(req: GraphRequest, object_id: str) -> Obj | None:
    """A member as Graph lists it in directoryObject collections: the object's default view plus its type."""
    t = req.state.tenant
    user = t.user(object_id)
    if user is not None:
        return {"@odata.type": "#microsoft.graph.user", **view(USERS, user), "_full": user}
    group = t.group(object_id)
    if group is not None:
        return {"@odata.type": "#microsoft.graph.group", **view(GROUPS, group), "_full": group}
    return None


def view(spec: QuerySpec, obj: Obj) -> Obj:
    """An object as a collection item shows it: every default property, no query options."""
    from drill.sim.graph.odata import Query

    return project(spec, obj, Query())


def _objects(req: GraphRequest, ids: list[str], fragment: str = "directoryObjects") -> GraphResponse:
    found = [o for o in (directory_object(req, i) for i in ids) if o is not None]
    return ok(collection(req, MEMBERS, found, fragment))


# -- handlers --
async def list_users(req: GraphRequest) -> GraphResponse:
    return ok(collection(req, USERS, list(req.state.tenant.users), "users"))


async def get_user(req: GraphRequest) -> GraphResponse:
    user = find_user(req, req.params["user"])
    q = parse_query(req, USERS, collection=False)
    body = {
        "@odata.context": f"{req.base}/$metadata#users{select_suffix(q)}/$entity",
        **project(USERS, user, q),
    }
    return ok(body)


async def list_groups(req: GraphRequest) -> GraphResponse:
    return ok(collection(req, GROUPS, list(req.state.tenant.groups), "groups"))


def _group(req: GraphRequest) -> Obj:
    group = req.state.tenant.group(req.params["group"])
    if group is None:
        raise not_found(req.params["group"])
    return group


async def get_group(req: GraphRequest) -> GraphResponse:
    group = _group(req)
    q = parse_query(req, GROUPS, collection=False)
    return ok(
        {
            "@odata.context": f"{req.base}/$metadata#groups{select_suffix(q)}/$entity",
            **project(GROUPS, group, q),
        }
    )


async def group_members(req: GraphRequest) -> GraphResponse:
    return _objects(req, list(_group(req).get("members", [])))


async def list_aus(req: GraphRequest) -> GraphResponse:
    return ok(
        collection(req, AUNITS, list(req.state.tenant.administrativeUnits), "directory/administrativeUnits")
    )


def _au(req: GraphRequest) -> Obj:
    au = next((a for a in req.state.tenant.administrativeUnits if a["id"] == req.params["au"]), None)
    if au is None:
        raise not_found(req.params["au"])
    return au


async def get_au(req: GraphRequest) -> GraphResponse:
    au = _au(req)
    q = parse_query(req, AUNITS, collection=False)
    ctx = f"{req.base}/$metadata#directory/administrativeUnits{select_suffix(q)}/$entity"
    return ok({"@odata.context": ctx, **project(AUNITS, au, q)})


async def au_members(req: GraphRequest) -> GraphResponse:
    return _objects(req, list(_au(req).get("members", [])))


async def revoke_sessions(req: GraphRequest) -> GraphResponse:
    """Stamp signInSessionsValidFromDateTime; identity may refuse refresh tokens issued before it."""
    user = find_user(req, req.params["user"])
    now = req.now()
    with req.state.lock:
        user["signInSessionsValidFromDateTime"] = iso(now)
        req.state.services.setdefault("sessionsRevokedAt", {})[user["id"]] = now
    actor: dict[str, Any]
    if req.delegated:
        who = req.state.tenant.user(str(req.claims.get("oid", ""))) or {}
        actor = {
            "user": {
                "id": req.claims.get("oid"),
                "userPrincipalName": who.get("userPrincipalName"),
                "displayName": who.get("displayName"),
                "ipAddress": None,
            }
        }
    else:
        actor = {
            "app": {
                "appId": req.claims.get("appid") or req.claims.get("azp"),
                "displayName": None,
                "servicePrincipalId": req.claims.get("oid"),
                "servicePrincipalName": None,
            }
        }
    req.state.emit_audit(
        AuditEvent(
            created=now,
            category="UserManagement",
            operation_name="Invalidate all refresh tokens for user",
            initiated_by=actor,
            target_resources=[
                {
                    "id": user["id"],
                    "displayName": user.get("displayName"),
                    "type": "User",
                    "userPrincipalName": user.get("userPrincipalName"),
                    "modifiedProperties": [],
                }
            ],
        )
    )
    return ok({"@odata.context": f"{req.base}/$metadata#Edm.Boolean", "value": True})


def routes() -> list[RouteSpec]:
    u = r"/users/(?P<user>[^/()]+)"
    return [
        route("GET", "/users", list_users, LIST_USERS),
        route("GET", u, get_user, READ_USERS, user_param="user"),
        route("POST", u + "/revokeSignInSessions", revoke_sessions, REVOKE),
        route("GET", "/groups", list_groups, READ_GROUPS),
        route("GET", r"/groups/(?P<group>[^/]+)", get_group, READ_GROUPS),
        route("GET", r"/groups/(?P<group>[^/]+)/members", group_members, READ_GROUPS),
        route("GET", "/directory/administrativeUnits", list_aus, READ_AUS),
        route("GET", r"/directory/administrativeUnits/(?P<au>[^/]+)", get_au, READ_AUS),
        route("GET", r"/directory/administrativeUnits/(?P<au>[^/]+)/members", au_members, READ_AUS),
    ]


__all__ = ["GraphError", "directory_object", "find_user", "routes", "view"]
