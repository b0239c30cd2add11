"""SharePoint document libraries on Graph: the site lookup, its drives, items by path, and upload sessions.

What compliance filing needs and nothing more (facts and sources: drill/sim/DIFFERENCES.md, "Filing"):
- `GET /sites/{hostname}:/{server-relative-path}` and `GET /sites/{site-id}/drives`;
- `GET /drives/{id}/root:/{path}` (a driveItem or 404 itemNotFound) and `GET /drives/{id}/items/{id}/content`
  (302 to a pre-authenticated download URL);
- `POST /drives/{id}/items/{parent}:/{path}:/createUploadSession` and the `root:` form; with
  `item.@microsoft.graph.conflictBehavior` = `fail` an existing name is 409 `nameAlreadyExists`;
- the uploadUrl (another host at Microsoft, no Authorization header): PUT byte ranges with Content-Range,
  202 + nextExpectedRanges until the last byte, then 201 with the driveItem; GET for the session's state
  (how a client resumes after a 5xx); DELETE cancels. Fragments other than the last must be multiples of
  320 KiB.

Permissions: application Sites.ReadWrite.All, or Sites.Selected plus a grant on the one site (the site's
`grants` in the fixture: appId -> role). Sites.Selected without a grant is 403 accessDenied.

Faults (link "filing"): quota exceeded (507), the observer's site grant removed (403), a different file
already at the first name filed (409), a 503 in the middle of an upload, and 429 on an upload fragment.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from drill.sim.graph.http import GraphError, GraphRequest, GraphResponse, Perms, RouteSpec, route
from drill.sim.state import Fault, SimState

FRAGMENT_UNIT = 320 * 1024
MAX_FRAGMENT = 60 * 1024 * 1024
SESSION_LIFETIME = timedelta(hours=1)
UPLOAD_PREFIX = "/_api/v2.0/uploadSession/"
DOWNLOAD_PREFIX = "/_api/v2.0/download/"
QUOTA, DENIED, CONFLICT, MID_5XX, THROTTLED = (
    "filing-quota-exceeded",
    "filing-access-denied",
    "filing-name-conflict",
    "filing-5xx-mid-upload",
    "filing-throttled",
)
# The demo tenant's one site: the security team's, where drill evidence is filed.
DEMO_SITE: dict[str, Any] = {
    "hostname": "contoso.sharepoint.com",
    "path": "/sites/Security",
    "displayName": "Security",
    "drives": ["Documents"],
    "quotaBytes": 1024 * 1024 * 1024,
    "grants": {"6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02": "write"},
}
# Sites.Selected alone reaches nothing: the site's own grant decides (read or write).
# Delegated Sites.FullControl.All: an administrator running `drill setup` looks the site up
# (site_permissions.py).
_PERMS = Perms(
    application=["Sites.Selected", "Sites.ReadWrite.All", "Sites.Read.All"],
    delegated=["Sites.FullControl.All"],
)


def store(state: SimState) -> dict[str, Any]:
    """The SharePoint side of the tenant, created on first use from DEMO_SITE."""
    with state.lock:
        sp = state.services.get("sharepoint")
        if sp is None:
            site_id = f"{DEMO_SITE['hostname']},{uuid.uuid5(uuid.NAMESPACE_URL, 'site')},{uuid.uuid4()}"
            drives = {
                f"b!{secrets.token_urlsafe(24)}": {"name": name, "items": {}} for name in DEMO_SITE["drives"]
            }
            sp = {
                "sites": {site_id: {**DEMO_SITE, "id": site_id, "drives": list(drives)}},
                "drives": drives,
                "sessions": {},
                "downloads": {},
                "used": 0,
            }
            state.services["sharepoint"] = sp
        return sp


def _site_for_drive(sp: dict[str, Any], drive_id: str) -> dict[str, Any]:
    for site in sp["sites"].values():
        if drive_id in site["drives"]:
            return site  # type: ignore[no-any-return]
    raise GraphError(404, "itemNotFound", "The resource could not be found.")


def _check_site(req: GraphRequest, site: dict[str, Any], write: bool) -> None:
    """Sites.ReadWrite.All reaches every site; Sites.Selected only a site that granted this app a role."""
    granted = req.granted
    if (
        "Sites.ReadWrite.All" in granted
        or "Sites.FullControl.All" in granted
        or (not write and "Sites.Read.All" in granted)
    ):
        return
    role = site.get("grants", {}).get(str(req.claims.get("appid") or req.claims.get("azp") or ""))
    if DENIED in req.state.faults or role is None or (write and role not in ("write", "fullcontrol")):
        raise GraphError(403, "accessDenied", "Access denied")


def _item_json(req: GraphRequest, drive_id: str, path: str, item: dict[str, Any]) -> dict[str, Any]:
    name = path.rsplit("/", 1)[-1]
    return {
        "@odata.context": f"{req.base}/$metadata#drives('{drive_id}')/items/$entity",
        "id": item["id"],
        "name": name,
        "size": len(item["content"]),
        "createdDateTime": item["created"],
        "lastModifiedDateTime": item["created"],
        "webUrl": item["webUrl"],
        "parentReference": {"driveId": drive_id, "driveType": "documentLibrary"},
        "file": {"mimeType": "application/octet-stream"},
    }


def _web_url(site: dict[str, Any], drive: dict[str, Any], path: str) -> str:
    from urllib.parse import quote

    return f"https://{site['hostname']}{site['path']}/{quote(drive['name'])}/{quote(path)}"


async def _get_site(req: GraphRequest) -> GraphResponse:
    sp = store(req.state)
    host, path = req.params["host"].lower(), "/" + req.params["path"].strip("/")
    for site in sp["sites"].values():
        if site["hostname"] == host and site["path"].lower() == path.lower():
            _check_site(req, site, write=False)
            return GraphResponse(
                200,
                {
                    "@odata.context": f"{req.base}/$metadata#sites/$entity",
                    "id": site["id"],
                    "displayName": site["displayName"],
                    "name": site["path"].rsplit("/", 1)[-1],
                    "webUrl": f"https://{site['hostname']}{site['path']}",
                    "siteCollection": {"hostname": site["hostname"]},
                },
            )
    raise GraphError(404, "itemNotFound", "Requested site could not be found")


async def _list_drives(req: GraphRequest) -> GraphResponse:
    sp = store(req.state)
    site = sp["sites"].get(req.params["site"])
    if site is None:
        raise GraphError(404, "itemNotFound", "Requested site could not be found")
    _check_site(req, site, write=False)
    value = [
        {
            "id": d,
            "name": sp["drives"][d]["name"],
            "driveType": "documentLibrary",
            "webUrl": f"https://{site['hostname']}{site['path']}/{sp['drives'][d]['name']}",
        }
        for d in site["drives"]
    ]
    return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#drives", "value": value})


def _drive(req: GraphRequest, write: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sp = store(req.state)
    drive = sp["drives"].get(req.params["drive"])
    if drive is None:
        raise GraphError(404, "itemNotFound", "The resource could not be found.")
    site = _site_for_drive(sp, req.params["drive"])
    _check_site(req, site, write=write)
    return sp, site, drive


async def _get_by_path(req: GraphRequest) -> GraphResponse:
    _sp, _site, drive = _drive(req, write=False)
    path = req.params["path"].strip("/")
    item = drive["items"].get(path)
    if item is None:
        raise GraphError(404, "itemNotFound", "The resource could not be found.")
    return GraphResponse(200, _item_json(req, req.params["drive"], path, item))


async def _children(req: GraphRequest) -> GraphResponse:
    """The files and folders directly under a folder path (folders exist where files are under them)."""
    _sp, _site, drive = _drive(req, write=False)
    prefix = req.params["path"].strip("/") + "/"
    files: list[dict[str, Any]] = []
    folders: dict[str, int] = {}
    for path, item in sorted(drive["items"].items()):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if "/" in rest:
            name = rest.split("/", 1)[0]
            folders[name] = folders.get(name, 0) + 1
        else:
            files.append(_item_json(req, req.params["drive"], path, item))
    if not files and not folders:
        raise GraphError(404, "itemNotFound", "The resource could not be found.")
    value = [
        {"id": f"folder:{prefix}{name}", "name": name, "folder": {"childCount": count}}
        for name, count in folders.items()
    ]
    for item in files:
        item.pop("@odata.context", None)
    value += files
    return GraphResponse(
        200, {"@odata.context": f"{req.base}/$metadata#Collection(driveItem)", "value": value}
    )


async def _content(req: GraphRequest) -> GraphResponse:
    sp, _site, drive = _drive(req, write=False)
    for item in drive["items"].values():
        if item["id"] == req.params["item"]:
            token = secrets.token_urlsafe(24)
            with req.state.lock:
                sp["downloads"][token] = item["content"]
            return GraphResponse(302, None, {"Location": f"{req.state.base_url}{DOWNLOAD_PREFIX}{token}"})
    raise GraphError(404, "itemNotFound", "The resource could not be found.")


async def _create_session(req: GraphRequest) -> GraphResponse:
    sp, site, drive = _drive(req, write=True)
    parent = req.params.get("parent", "root")
    if parent.lower() != "root":
        raise GraphError(404, "itemNotFound", "The resource could not be found.")
    path = req.params["path"].strip("/")
    body = req.body if isinstance(req.body, dict) else {}
    raw = body.get("item")
    item: dict[str, Any] = raw if isinstance(raw, dict) else {}
    behavior = str(item.get("@microsoft.graph.conflictBehavior") or "replace")  # BELIEF: the default
    with req.state.lock:
        conflict = req.state.faults.get(CONFLICT)
        if conflict is not None and not conflict.get("planted"):
            conflict["planted"] = path  # someone else's file already sits at the first name filed
            drive["items"][path] = _new_item(site, drive, path, b"a different file, not this drill's\n")
        if path in drive["items"] and behavior == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        token = secrets.token_urlsafe(32)
        expires = req.now() + SESSION_LIFETIME
        sp["sessions"][token] = {
            "drive": req.params["drive"],
            "path": path,
            "behavior": behavior,
            "received": bytearray(),
            "total": None,
            "expires": expires,
            "puts": 0,
        }
    return GraphResponse(
        200,
        {
            "@odata.context": f"{req.base}/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{req.state.base_url}{UPLOAD_PREFIX}{token}",
            "expirationDateTime": _iso(expires),
            "nextExpectedRanges": ["0-"],
        },
    )


async def _put_content(req: GraphRequest) -> GraphResponse:
    """Simple upload (the product sends only empty files this way: an upload session needs a byte)."""
    _sp, site, drive = _drive(req, write=True)
    path = req.params["path"].strip("/")
    behavior = req.query.get("@microsoft.graph.conflictBehavior", "replace")
    if req.body not in (None, b""):
        raise GraphError(400, "invalidRequest", "The simulator accepts only empty simple uploads.")
    with req.state.lock:
        if path in drive["items"] and behavior == "fail":
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        item = _new_item(site, drive, path, b"")
        drive["items"][path] = item
    return GraphResponse(201, _item_json(req, req.params["drive"], path, item))


def _new_item(site: dict[str, Any], drive: dict[str, Any], path: str, content: bytes) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "id": "01" + secrets.token_hex(16).upper(),
        "content": bytes(content),
        "created": _iso(datetime.now(UTC)),
        "webUrl": _web_url(site, drive, path),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def _iso(when: Any) -> str:
    return str(when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z")


def routes() -> list[RouteSpec]:
    p = _PERMS
    return [
        route("GET", r"/sites/(?P<host>[^/:]+):/(?P<path>.+?):?", _get_site, p),
        route("GET", r"/sites/(?P<site>[^/:]+)/drives", _list_drives, p),
        route("GET", r"/drives/(?P<drive>[^/]+)/items/root:/(?P<path>.+):/children", _children, p),
        route("GET", r"/drives/(?P<drive>[^/]+)/root:/(?P<path>.+):/children", _children, p),
        route("GET", r"/drives/(?P<drive>[^/]+)/root:/(?P<path>.+?):?", _get_by_path, p),
        route("GET", r"/drives/(?P<drive>[^/]+)/items/root:/(?P<path>.+?):?", _get_by_path, p),
        route("GET", r"/drives/(?P<drive>[^/]+)/items/(?P<item>[^/:]+)/content", _content, p),
        route(
            "POST",
            r"/drives/(?P<drive>[^/]+)/items/(?P<parent>[^/:]+):/(?P<path>.+):/createUploadSession",
            _create_session,
            p,
        ),
        route(
            "POST", r"/drives/(?P<drive>[^/]+)/root:/(?P<path>.+):/createUploadSession", _create_session, p
        ),
        route("PUT", r"/drives/(?P<drive>[^/]+)/items/root:/(?P<path>.+):/content", _put_content, p),
    ]


# -- the uploadUrl and download URL: pre-authenticated, outside Graph (another host at Microsoft) ------------
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _session_body(session: dict[str, Any]) -> dict[str, Any]:
    return {
        "expirationDateTime": _iso(session["expires"]),
        "nextExpectedRanges": [f"{len(session['received'])}-"],
    }


def install(state: SimState) -> list[BaseRoute]:
    async def upload(request: Request) -> Response:
        if "authorization" in request.headers:
            # Microsoft: the uploadUrl is pre-authenticated; a bearer token there may be refused with 401.
            return _error(401, "unauthenticated", "Do not send an Authorization header to the uploadUrl.")
        sp = store(state)
        token = request.path_params["token"]
        with state.lock:
            session = sp["sessions"].get(token)
        if session is None or state.clock.now() >= session["expires"]:
            return _error(404, "itemNotFound", "The upload session was not found or has expired.")
        if request.method == "GET":
            return Response(json.dumps(_session_body(session)), 200, media_type="application/json")
        if request.method == "DELETE":
            with state.lock:
                sp["sessions"].pop(token, None)
            return Response(status_code=204)
        data = await request.body()
        return _put_fragment(state, sp, token, session, request.headers.get("content-range", ""), data)

    async def download(request: Request) -> Response:
        sp = store(state)
        with state.lock:
            content = sp["downloads"].pop(request.path_params["token"], None)
        if content is None:
            return _error(404, "itemNotFound", "The download URL was not found or has expired.")
        return Response(content, 200, media_type="application/octet-stream")

    return [
        Route(UPLOAD_PREFIX + "{token}", upload, methods=["PUT", "GET", "DELETE"]),
        Route(DOWNLOAD_PREFIX + "{token}", download, methods=["GET"]),
    ]


def _put_fragment(
    state: SimState, sp: dict[str, Any], token: str, session: dict[str, Any], header: str, data: bytes
) -> Response:
    match = _RANGE.match(header.strip())
    if match is None:
        return _error(400, "invalidRange", "Content-Range is missing or malformed.")
    start, end, total = (int(g) for g in match.groups())
    with state.lock:
        session["puts"] += 1
        throttled = state.faults.get(THROTTLED)
        if throttled is not None and not throttled.get("served"):
            throttled["served"] = 1
            return _error(429, "activityLimitReached", "The app has been throttled.", {"Retry-After": "1"})
        mid = state.faults.get(MID_5XX)
        sessions = state.services.setdefault("sharepoint-sessions-seen", set())
        sessions.add(token)
        # "mid-file": a fragment after a file's first; default: the first fragment of the bundle's second
        # file (demo bundles fit one fragment per file), i.e. in the middle of the bundle's upload.
        where = start > 0 if (mid or {}).get("at") == "mid-file" else len(sessions) > 1
        if mid is not None and not mid.get("served") and where:
            mid["served"] = 1  # the fragment is lost; the client asks the session what it still needs
            return _error(503, "serviceNotAvailable", "Service unavailable", {"Retry-After": "1"})
        have = len(session["received"])
        if session["total"] is not None and total != session["total"]:
            return _error(400, "invalidRange", "The total size differs from earlier fragments.")
        if start != have or end < start or end >= total or len(data) != end - start + 1:
            return _error(416, "invalidRange", f"The uploaded fragment does not start at {have}.")
        if len(data) > MAX_FRAGMENT or (end + 1 < total and len(data) % FRAGMENT_UNIT):
            return _error(400, "invalidRange", "Fragments must be multiples of 320 KiB (except the last).")
        if QUOTA in state.faults or sp["used"] + total > int(
            _site_for_drive(sp, session["drive"])["quotaBytes"]
        ):
            sp["sessions"].pop(token, None)
            return _error(507, "quotaLimitReached", "Insufficient Storage: the site's storage quota is full.")
        session["total"] = total
        session["received"].extend(data)
        session["expires"] = state.clock.now() + SESSION_LIFETIME  # each fragment extends the session
        if end + 1 < total:
            return Response(json.dumps(_session_body(session)), 202, media_type="application/json")
        drive = sp["drives"][session["drive"]]
        site = _site_for_drive(sp, session["drive"])
        sp["sessions"].pop(token, None)
        if session["path"] in drive["items"] and session["behavior"] == "fail":
            return _error(409, "nameAlreadyExists", "The specified item name already exists.")
        item = _new_item(site, drive, session["path"], bytes(session["received"]))
        drive["items"][session["path"]] = item
        sp["used"] += total
    body = {
        "id": item["id"],
        "name": session["path"].rsplit("/", 1)[-1],
        "size": total,
        "webUrl": item["webUrl"],
        "file": {"mimeType": "application/octet-stream"},
    }
    return Response(json.dumps(body), 201, media_type="application/json")


def _flag(name: str) -> Any:
    def apply(state: SimState) -> None:
        state.faults[name] = {}

    return apply


FAULTS: list[Fault] = [
    Fault(QUOTA, "filing", "the SharePoint site's storage quota is full: uploads answer 507", _flag(QUOTA)),
    Fault(DENIED, "filing", "the observer's Sites.Selected grant on the site is gone: 403", _flag(DENIED)),
    Fault(CONFLICT, "filing", "a different file already sits at the first name filed: 409", _flag(CONFLICT)),
    Fault(
        MID_5XX,
        "filing",
        "one upload fragment after the first answers 503; the session resumes",
        _flag(MID_5XX),
    ),
    Fault(THROTTLED, "filing", "the first upload fragment answers 429 with Retry-After", _flag(THROTTLED)),
]
