"""Fill every Graph field of `Facts` as the observer (app-only), in a handful of `$batch` round trips.

Why this shape: a tenant of 100,000 users, 5,000 groups and 300 CA policies must be audited well under
Graph's throttling limits, so nothing here lists users or groups. Every read names its object (the
playbook's accounts and group, and the units and roles those lead to), asks only for the properties a check
needs (`$select`), and goes out in `$batch` envelopes of at most 20 requests (Graph's limit) in three
dependent rounds: what the playbook names; the units and fallbacks the first answers point at; the roles and
PIM policies of those units. Collections follow `@odata.nextLink` to the end.

Objects are kept as Graph's JSON (not the SDK's models): requests go through msgraph-sdk's request adapter
(authentication, Graph's retry middleware) with a native response handler, so the facts an auditor sees are
the bytes Graph sent. A call that fails is never an empty answer: it lands in `facts.unread` with the status
and Graph's own words. Batched requests answered 429/503/504 are retried after their Retry-After, as the
SDK's middleware does for single requests.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from drill.audit.facts import AccountFacts, Facts, Obj
from drill.steps.context import GLOBAL_ADMIN

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud
    from drill.playbook.model import Playbook

BATCH_LIMIT = 20  # Graph: at most 20 requests in one JSON batch
RETRIES = 3  # per batched request answered 429/503/504, after Retry-After
MAX_WAIT_S = 30.0
# What If needs one application; the Azure portal is where an emergency is handled, and every policy aimed at
# "All" resources applies to it.
AZURE_PORTAL = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
USER_SELECT = (
    "id,userPrincipalName,displayName,accountEnabled,onPremisesSyncEnabled,passwordPolicies,userType,"
    "createdDateTime,assignedLicenses,creationType"
)
GROUP_SELECT = "id,displayName,isAssignableToRole,securityEnabled,mailEnabled,groupTypes,membershipRule"
DOMAIN_SELECT = "id,isInitial,isDefault,isVerified,passwordValidityPeriodInDays"
AU_SELECT = "id,displayName,description,isMemberManagementRestricted,membershipType,visibility"
MEMBER_SELECT = "id,displayName,userPrincipalName"
# roleTemplateId: a directoryRole's template id, which CA policies name in includeRoles/excludeRoles
MEMBER_OF_SELECT = "id,displayName,roleTemplateId,isMemberManagementRestricted"
ASSIGNMENTS = "/roleManagement/directory/roleAssignmentScheduleInstances"
ELIGIBILITIES = "/roleManagement/directory/roleEligibilityScheduleInstances"
NO_P2 = "AadPremiumLicenseRequired"


@dataclass
class Answer:
    """One Graph answer: status, body (JSON or None) and, when it failed, a one-line reason."""

    status: int
    body: Any = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_code(self) -> str:
        err = (self.body or {}).get("error") if isinstance(self.body, dict) else None
        return str((err or {}).get("code") or "")

    def reason(self) -> str:
        err = (self.body or {}).get("error") if isinstance(self.body, dict) else None
        if isinstance(err, dict):
            message = str(err.get("message") or "").strip().splitlines()
            head = f"HTTP {self.status}" if self.status else "no answer from Graph"
            return f"{head} {err.get('code') or ''}: {message[0] if message else ''}"[:400]
        return f"HTTP {self.status}"


@dataclass
class Request:
    id: str
    url: str  # relative to the v1.0 root, with its query string
    method: str = "GET"
    body: Any = None


@dataclass
class GraphReader:
    """A thin JSON client over the SDK's adapter: single calls, `$batch` with inner retries, paging."""

    client: Any
    facts: Facts
    sleep: Any = asyncio.sleep
    base: str = field(init=False)
    gone: str | None = field(default=None, init=False)  # the unreachable line, once a call met one

    def __post_init__(self) -> None:
        self.base = str(self.client.request_adapter.base_url).rstrip("/")
        self.facts.requests.setdefault("graph", 0)
        self.facts.requests.setdefault("graph_batched", 0)

    async def send(self, method: str, url: str, body: Any = None) -> Answer:
        from kiota_abstractions.method import Method
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_abstractions.request_information import RequestInformation
        from kiota_http.middleware.options import ResponseHandlerOption

        info = RequestInformation(Method(method))
        info.url = url if "://" in url else self.base + url
        info.headers.try_add("Accept", "application/json")
        if body is not None:
            info.set_stream_content(json.dumps(body).encode(), "application/json")
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        if self.gone is not None:  # the host (or the token's authority) cannot be reached: do not retry
            return Answer(0, {"error": {"code": "Unreachable", "message": self.gone}})
        self.facts.requests["graph"] += 1
        try:
            response = await self.client.request_adapter.send_primitive_async(info, "bytes", None)
        except Exception as exc:  # noqa: BLE001 - no answer (token, network): its facts are unread
            from drill.clients import unreachable
            from drill.steps.waiting import service_message

            where = unreachable(exc)
            if where is not None:
                self.gone = self.facts.unreachable.setdefault(where.host, where.line())
                return Answer(0, {"error": {"code": "Unreachable", "message": self.gone}})
            return Answer(0, {"error": {"code": type(exc).__name__, "message": service_message(exc)}})
        self.facts.answered += 1
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = None
        return Answer(response.status_code, parsed, _seconds(response.headers.get("Retry-After")))

    async def batch(self, requests: list[Request]) -> dict[str, Answer]:
        """Every request's answer, in `$batch` envelopes of 20; throttled items are retried on their own."""
        out: dict[str, Answer] = {}
        pending = list(requests)
        for attempt in range(RETRIES + 1):
            again: list[Request] = []
            waits: list[float] = []
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start : start + BATCH_LIMIT]
                answers = await self._one_batch(chunk)
                for req in chunk:
                    answer = answers[req.id]
                    out[req.id] = answer
                    if answer.status in (429, 503, 504) and attempt < RETRIES:
                        again.append(req)
                        waits.append(answer.retry_after or 2.0**attempt)
            if not again:
                break
            await self.sleep(min(max(waits), MAX_WAIT_S))
            pending = again
        return out

    async def _one_batch(self, chunk: list[Request]) -> dict[str, Answer]:
        if len(chunk) == 1:  # a lone request needs no envelope
            req = chunk[0]
            self.facts.requests["graph_batched"] += 1
            return {req.id: await self.send(req.method, req.url, req.body)}
        payload = {"requests": [_batch_item(r) for r in chunk]}
        self.facts.requests["graph_batched"] += len(chunk)
        envelope = await self.send("POST", "/$batch", payload)
        if not envelope.ok or not isinstance(envelope.body, dict):
            return {r.id: envelope for r in chunk}
        found: dict[str, Answer] = {}
        for item in envelope.body.get("responses") or []:
            headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            found[str(item.get("id"))] = Answer(
                int(item.get("status", 500)), item.get("body"), _seconds(headers.get("retry-after"))
            )
        missing = Answer(502, {"error": {"code": "BatchItemMissing", "message": "no answer in the batch"}})
        return {r.id: found.get(r.id, missing) for r in chunk}

    async def rest(self, answer: Answer) -> Answer:
        """The collection with every page after the first (`@odata.nextLink`) appended to `value`."""
        if not answer.ok or not isinstance(answer.body, dict):
            return answer
        items = list(answer.body.get("value") or [])
        link = answer.body.get("@odata.nextLink")
        while link:
            if _PACED.search(str(link)):
                # Conditional Access allows 1 request per second per tenant, for all apps together, and
                # its 429 names no Retry-After (Graph throttling limits): one page a second, never faster.
                await self.sleep(PACE_S)
            page = await self.send("GET", str(link))
            if not page.ok or not isinstance(page.body, dict):
                return page
            items.extend(page.body.get("value") or [])
            link = page.body.get("@odata.nextLink")
        return Answer(answer.status, {**answer.body, "value": items})


_PACED = re.compile(r"/identity/conditionalAccess/(policies|namedLocations)\b", re.IGNORECASE)
PACE_S = 1.1


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _batch_item(req: Request) -> dict[str, Any]:
    item: dict[str, Any] = {"id": req.id, "method": req.method, "url": req.url}
    if req.body is not None:
        item["body"] = req.body
        item["headers"] = {"Content-Type": "application/json"}
    return item


def _q(value: str) -> str:
    return quote(value, safe="")


def _filter(expr: str) -> str:
    return "$filter=" + _q(expr)


def what_if_body(user_id: str) -> Obj:
    """A browser sign-in to the Azure portal from a Windows workstation by the account (conditionalAccessRoot:
    evaluate, v1.0): the emergency as it happens; a policy limited to other platforms does not apply."""
    return {
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user_id},
        "signInContext": {
            "@odata.type": "#microsoft.graph.applicationContext",
            "includeApplications": [AZURE_PORTAL],
        },
        "signInConditions": {"clientAppType": "browser", "devicePlatform": "windows"},
        "appliedPoliciesOnly": False,
    }


def _values(answer: Answer) -> list[Obj]:
    return [dict(v) for v in (answer.body or {}).get("value") or []]


def _strip(obj: Any) -> Any:
    """Graph's object without OData control annotations (`@odata.context`, `...@odata.context`), keeping
    `@odata.type`, which tells a fido2 method from an SMS one."""
    if isinstance(obj, dict):
        return {
            k: _strip(v)
            for k, v in obj.items()
            if k == "@odata.type" or not ("@odata." in k and k.split("@odata.")[1] in ("context", "nextLink"))
        }
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


class _Round:
    """One batch round: requests by id, then answers (pages followed) by id."""

    def __init__(self, reader: GraphReader) -> None:
        self.reader = reader
        self.requests: list[Request] = []
        self.answers: dict[str, Answer] = {}

    def add(self, rid: str, url: str, method: str = "GET", body: Any = None) -> None:
        self.requests.append(Request(rid, url, method, body))

    async def run(self) -> None:
        if not self.requests:
            return
        first = await self.reader.batch(self.requests)
        for rid, answer in first.items():
            self.answers[rid] = await self.reader.rest(answer)


async def read_graph(
    facts: Facts,
    playbook: Playbook,
    credential: TokenCredential | None,
    cloud: Cloud,
    *,
    client: Any = None,
    sleep: Any = asyncio.sleep,
) -> None:
    """Fill the Graph fields of `facts` for the playbook's accounts and group (see facts.py)."""
    if client is None:
        from drill.clients import graph_client_at, graph_scopes

        # One short burst a day: no pooled connection outlives it (keep_alive=False).
        client = graph_client_at(
            credential,  # type: ignore[arg-type]
            cloud.graph_endpoint,
            graph_scopes(cloud, (".default",)),
            ca_bundle=cloud.ca_bundle,
            keep_alive=False,
        )
    reader = GraphReader(client, facts, sleep)
    group_id = playbook.conditional_access.break_glass_group_id
    accounts = [AccountFacts(a.name, str(a.object_id)) for a in playbook.accounts]
    facts.accounts = accounts

    one = _Round(reader)
    one.add("domains", f"/domains?$select={DOMAIN_SELECT}")
    ga = _filter(f"roleDefinitionId eq '{GLOBAL_ADMIN}'")
    one.add("ga_a", f"{ASSIGNMENTS}?{ga}")
    one.add("ga_e", f"{ELIGIBILITIES}?{ga}")
    if group_id:
        one.add("group", f"/groups/{group_id}?$select={GROUP_SELECT}")
        one.add("group_members", f"/groups/{group_id}/members?$select={MEMBER_SELECT}")
    one.add("contexts", "/identity/conditionalAccess/authenticationContextClassReferences")
    one.add("methods_policy", "/policies/authenticationMethodsPolicy")
    one.add("strengths", "/policies/authenticationStrengthPolicies")
    one.add("ca", "/identity/conditionalAccess/policies")
    for i, acct in enumerate(accounts):
        user = f"/users/{acct.object_id}"
        one.add(f"u{i}", f"{user}?$select={USER_SELECT}")
        one.add(f"m{i}", f"{user}/authentication/methods")
        one.add(f"f{i}", f"{user}/authentication/fido2Methods")
        one.add(f"t{i}", f"{user}/transitiveMemberOf?$select={MEMBER_OF_SELECT}")
        one.add(f"w{i}", "/identity/conditionalAccess/evaluate", "POST", what_if_body(acct.object_id))
    await one.run()
    a = one.answers

    _collection(facts, "domains", a["domains"])
    _collection(facts, "auth_contexts", a["contexts"])
    _collection(facts, "auth_strengths", a["strengths"])
    _collection(facts, "ca_policies", a["ca"])
    if a["methods_policy"].ok:
        facts.methods_policy = _strip(a["methods_policy"].body)
    else:
        facts.unread["methods_policy"] = a["methods_policy"].reason()
    if group_id:
        if a["group"].ok:
            facts.group = _strip(a["group"].body)
        else:
            facts.unread["group"] = a["group"].reason()
        _collection(facts, "group_members", a["group_members"])
    else:
        facts.unread["group"] = "the playbook names no conditional_access.break_glass_group_id"
    for i, acct in enumerate(accounts):
        _account(facts, acct, a[f"u{i}"], a[f"m{i}"], a[f"f{i}"], a[f"t{i}"], a[f"w{i}"])

    # -- round 2: the units the accounts belong to; PIM fallbacks without Entra ID P2 --
    blind = [k for k in facts.unread if k.startswith("accounts.") and k.endswith(".member_of")]
    if blind:
        facts.unread["admin_units"] = f"depends on {blind[0]}, which could not be read"
    no_p2 = any(a[k].error_code() == NO_P2 for k in ("ga_a", "ga_e"))
    units = sorted(
        {
            str(m["id"])
            for acct in accounts
            for m in acct.member_of
            if m.get("@odata.type") == "#microsoft.graph.administrativeUnit"
        }
    )
    two = _Round(reader)
    if no_p2:
        two.add("ga_fallback", f"/roleManagement/directory/roleAssignments?{ga}")
    for j, unit in enumerate(units):
        scope = f"directoryScopeId eq '/administrativeUnits/{unit}'"
        two.add(f"au{j}", f"/directory/administrativeUnits/{unit}?$select={AU_SELECT}")
        two.add(f"aum{j}", f"/directory/administrativeUnits/{unit}/members?$select=id,displayName")
        if no_p2:
            two.add(f"aua{j}", f"/roleManagement/directory/roleAssignments?{_filter(scope)}")
        else:
            two.add(f"aua{j}", f"{ASSIGNMENTS}?{_filter(scope)}")
            two.add(f"aue{j}", f"{ELIGIBILITIES}?{_filter(scope)}")
    await two.run()
    b = two.answers
    if no_p2:
        facts.notes.append(
            "PIM's schedule APIs answered 400 AadPremiumLicenseRequired (no Entra ID P2): Global "
            "Administrator and unit-scoped roles were read from /roleManagement/directory/roleAssignments, "
            "which shows active, direct assignments only (no schedule, no eligibility)."
        )
        _collection(facts, "ga_assignments", b["ga_fallback"])
        facts.ga_assignments = [_as_instance(x) for x in facts.ga_assignments]
    else:
        _collection(facts, "ga_assignments", a["ga_a"])
        _collection(facts, "ga_eligibilities", a["ga_e"])
    _units(facts, units, b, no_p2)
    await _ga_principals(facts, reader, {a.object_id.lower() for a in accounts})

    # -- round 3: the roles scoped to those units and their PIM settings --
    for name in ("unit_assignments", "unit_eligibilities", "admin_units"):
        if name in facts.unread:  # which roles to read is itself unknown
            facts.unread.setdefault("unit_roles", f"depends on {name}, which could not be read")
            facts.unread.setdefault("role_policies", f"depends on {name}, which could not be read")
    role_ids = sorted(
        {str(x["roleDefinitionId"]) for x in [*facts.unit_assignments, *facts.unit_eligibilities]}
    )
    three = _Round(reader)
    for k, role in enumerate(role_ids):
        three.add(f"rd{k}", f"/roleManagement/directory/roleDefinitions/{role}")
        if not no_p2:
            expr = f"scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"
            three.add(f"rp{k}", f"/policies/roleManagementPolicyAssignments?{_filter(expr)}"
                      "&$expand=policy($expand=rules)")  # fmt: skip
    await three.run()
    c = three.answers
    for k, role in enumerate(role_ids):
        if c[f"rd{k}"].ok:
            facts.unit_roles.append(_strip(c[f"rd{k}"].body))
        else:
            facts.unread["unit_roles"] = f"role definition {role}: {c[f'rd{k}'].reason()}"
        if no_p2:
            continue
        found = c[f"rp{k}"]
        policies = [x.get("policy") for x in _values(found)] if found.ok else []
        if found.ok and policies and isinstance(policies[0], dict):
            facts.role_policies[role] = _strip(policies[0])
        else:
            why = found.reason() if not found.ok else "no policy assignment for the role"
            facts.unread["role_policies"] = f"role {role}: {why}"
    if no_p2 and role_ids:
        facts.unread["role_policies"] = "PIM role management policies need Entra ID P2 (not licensed)"


async def _ga_principals(facts: Facts, reader: GraphReader, accounts: set[str]) -> None:
    """Who each Global Administrator principal is (user, group with its members, or neither), so the
    ceiling can count people as well as principals. Role-assignable groups hold no groups (Microsoft: group
    nesting is not supported for them), so a group's members are people or service principals."""
    if "ga_assignments" in facts.unread or "ga_eligibilities" in facts.unread:
        facts.unread["ga_principals"] = "depends on the Global Administrator instances, which were not read"
        return
    ids = sorted(
        {
            str(i.get("principalId")).lower()
            for i in [*facts.ga_assignments, *facts.ga_eligibilities]
            if i.get("principalId") and i.get("memberType") != "Group"
        }
        - accounts
    )
    rnd = _Round(reader)
    for k, pid in enumerate(ids):
        rnd.add(f"gu{k}", f"/users/{pid}?$select={MEMBER_SELECT}")
        rnd.add(f"gm{k}", f"/groups/{pid}/members?$select={MEMBER_SELECT}")
    await rnd.run()
    for k, pid in enumerate(ids):
        user, members = rnd.answers[f"gu{k}"], rnd.answers[f"gm{k}"]
        if user.ok:
            facts.ga_principals[pid] = {**_strip(user.body), "@odata.type": "#microsoft.graph.user"}
        elif members.ok:
            facts.ga_principals[pid] = {
                "id": pid,
                "@odata.type": "#microsoft.graph.group",
                "members": [_strip(m) for m in _values(members)],
            }
        elif user.status == 404 and members.status == 404:
            facts.ga_principals[pid] = {"id": pid, "@odata.type": None}
        else:
            bad = members if user.status == 404 else user
            facts.unread["ga_principals"] = f"principal {pid}: {bad.reason()}"


def _as_instance(assignment: Obj) -> Obj:
    """A roleAssignment read without PIM, in a schedule instance's terms: active, direct, no end known."""
    return {**assignment, "assignmentType": "Assigned", "memberType": "Direct", "endDateTime": None}


def _collection(facts: Facts, name: str, answer: Answer) -> None:
    if answer.ok:
        setattr(facts, name, [_strip(v) for v in _values(answer)])
    else:
        facts.unread[name] = answer.reason()


def _account(
    facts: Facts, acct: AccountFacts, user: Answer, methods: Answer, fido2: Answer, member_of: Answer,
    what_if: Answer,
) -> None:  # fmt: skip
    key = f"accounts.{acct.name}"
    if user.status == 404:
        acct.user = None  # the account is missing: the checks say so; nothing else about it can be read
        return
    if not user.ok:
        facts.unread[f"{key}.user"] = user.reason()
    else:
        acct.user = _strip(user.body)
        # licenseDetails has no application permission (Graph: "Application: Not supported"), so the
        # observer reads the licences from the user's assignedLicenses (skuId, disabledPlans).
        acct.licenses = [dict(x) for x in (acct.user or {}).get("assignedLicenses") or []]
    for field_name, answer in (("methods", methods), ("fido2", fido2), ("member_of", member_of),
                               ("what_if", what_if)):  # fmt: skip
        if answer.ok:
            setattr(acct, field_name, [_strip(v) for v in _values(answer)])
        else:
            facts.unread[f"{key}.{field_name}"] = answer.reason()


def _units(facts: Facts, units: Iterable[str], b: dict[str, Answer], no_p2: bool) -> None:
    for j, unit in enumerate(units):
        au, members = b[f"au{j}"], b[f"aum{j}"]
        if not au.ok:
            facts.unread["admin_units"] = f"unit {unit}: {au.reason()}"
            continue
        if not members.ok:
            facts.unread["admin_units"] = f"members of unit {unit}: {members.reason()}"
            continue
        facts.admin_units.append({**_strip(au.body), "members": [_strip(m) for m in _values(members)]})
        assigned = b[f"aua{j}"]
        if assigned.ok:
            rows = [_strip(v) for v in _values(assigned)]
            facts.unit_assignments.extend([_as_instance(r) for r in rows] if no_p2 else rows)
        else:
            facts.unread["unit_assignments"] = f"unit {unit}: {assigned.reason()}"
        if no_p2:
            continue
        eligible = b[f"aue{j}"]
        if eligible.ok:
            facts.unit_eligibilities.extend(_strip(v) for v in _values(eligible))
        else:
            facts.unread["unit_eligibilities"] = f"unit {unit}: {eligible.reason()}"


def read_graph_sync(facts: Facts, playbook: Playbook, credential: TokenCredential, cloud: Cloud) -> None:
    """For callers without an event loop (the CLI and the scheduler run the audit synchronously)."""
    asyncio.run(read_graph(facts, playbook, credential, cloud))
