"""Filing to a SharePoint document library through Microsoft Graph, as the observer.

Least privilege: Sites.Selected with write on the one site. Every file is uploaded through an upload
session (`conflictBehavior: fail`), the manifest and its signature last, so a partial filing is INCOMPLETE
by definition. msgraph_core's LargeFileUploadTask is not used: it logs and swallows a failed fragment and
carries on, which would file a hole and call it done. The copy is then downloaded again and verified.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drill.evidence import manifest
from drill.evidence.filing_target import FilingError, Receipt, upload_order
from drill.fsutil import atomic_write, private_mkdir, sha256_file
from drill.secrets import register_secret

FRAGMENT = 10 * 320 * 1024  # a multiple of 320 KiB, as Graph requires of every fragment but the last
MAX_RETRIES = 5


@dataclass
class SharePointFiler:
    """Upload to a SharePoint document library through Graph as the observer, then read the copy back.

    `graph` builds a GraphServiceClient (the observer's); `http` an httpx.AsyncClient for the uploadUrl,
    which is pre-authenticated and must not get the observer's token.
    """

    site_url: str
    library: str
    folder: str
    graph: Callable[[], Any]
    http: Callable[[], Any]
    fragment: int = FRAGMENT
    sleep: Callable[[float], Any] = field(default=asyncio.sleep)

    def describe(self) -> str:
        return f"SharePoint {self.site_url} / {self.library} / {self.folder}"

    def file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt:
        receipt: Receipt = asyncio.run(self._graph_errors(self._file(bundle, check)))
        return receipt

    def read_back(self, drill_id: str, into: Path) -> Path:
        """Download a filed bundle (every file its manifest lists) into `into/<drill_id>` for verify."""
        manifest.check_drill_id(drill_id)
        copy: Path = asyncio.run(self._graph_errors(self._read_back(drill_id, into)))
        return copy

    async def _graph_errors(self, work: Any) -> Any:
        """Graph's refusals (ODataError and the like) as FilingError naming the status and the fix."""
        try:
            return await work
        except FilingError:
            raise
        except Exception as exc:
            if _status(exc) is None:
                raise
            raise FilingError(f"{self.describe()}: {_graph_reason(exc)}") from exc

    # -- Graph ---------------------------------------------------------------------------------------------
    async def _drive_id(self, client: Any) -> str:
        parts = urlsplit(self.site_url)
        site = await client.sites.by_site_id(f"{parts.hostname}:{parts.path.rstrip('/') or '/'}").get()
        drives = await client.sites.by_site_id(site.id).drives.get()
        for drive in drives.value or []:
            if (drive.name or "").lower() == self.library.lower():
                return str(drive.id)
        raise FilingError(
            f"{self.site_url}: no document library named {self.library!r}; check evidence.filing"
        )

    def _path(self, drill_id: str, rel: str) -> str:
        return "/".join(p for p in (self.folder.strip("/"), drill_id, rel) if p)

    async def _item(self, client: Any, drive: str, path: str) -> Any | None:
        try:
            return await client.drives.by_drive_id(drive).items.by_drive_item_id(f"root:/{path}:").get()
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise

    async def _download(self, client: Any, drive: str, path: str) -> bytes | None:
        item = await self._item(client, drive, path)
        if item is None:
            return None
        data = await client.drives.by_drive_id(drive).items.by_drive_item_id(item.id).content.get()
        return bytes(data or b"")

    async def _file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt:
        client = self.graph()
        try:
            drive = await self._drive_id(client)
            already = True
            for rel in upload_order(bundle):
                local = (bundle / rel).read_bytes()
                path = self._path(bundle.name, rel)
                stored = await self._download(client, drive, path)
                if stored is not None:
                    if stored != local:
                        raise FilingError(
                            f"{self.describe()}: {path} already exists with different content; "
                            "it is never overwritten (a different bundle under this name?)"
                        )
                    continue  # filed by an earlier, interrupted attempt: the same bytes
                already = False
                await self._upload(client, drive, path, local)
            with tempfile.TemporaryDirectory(prefix="drill-filed-") as tmp:
                copy = await self._read_back(bundle.name, Path(tmp))
                check(copy)
                digest = sha256_file(copy / manifest.MANIFEST)
            item = await self._item(client, drive, self._path(bundle.name, manifest.MANIFEST))
        finally:
            await _close(client)
        location = f"item {getattr(item, 'id', '?')} {getattr(item, 'web_url', '')}".strip()
        return Receipt(self.describe(), location, digest, already_filed=already)

    async def _upload(self, client: Any, drive: str, path: str, data: bytes) -> None:
        if not data:
            await self._put_empty(client, drive, path)
            return
        from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
            CreateUploadSessionPostRequestBody,
        )
        from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties

        props = DriveItemUploadableProperties()
        props.additional_data = {"@microsoft.graph.conflictBehavior": "fail"}
        body = CreateUploadSessionPostRequestBody()
        body.item = props
        try:
            session = await (
                client.drives.by_drive_id(drive)
                .items.by_drive_item_id(f"root:/{path}:")
                .create_upload_session.post(body)
            )
        except Exception as exc:
            raise FilingError(f"{self.describe()}: {path}: {_graph_reason(exc)}") from exc
        url = str(session.upload_url)
        register_secret(url)  # pre-authenticated: whoever holds it can write; never in a log or an error
        async with self.http() as http:
            await self._send(http, url, path, data)

    async def _put_empty(self, client: Any, drive: str, path: str) -> None:
        """An empty file (a log with no lines) by simple upload: an upload session needs at least a byte."""
        from urllib.parse import quote

        base = client.request_adapter.base_url.rstrip("/")
        url = (
            f"{base}/drives/{drive}/items/root:/{quote(path)}:/content?@microsoft.graph.conflictBehavior=fail"
        )
        try:
            await (
                client.drives.by_drive_id(drive).items.by_drive_item_id("root").content.with_url(url).put(b"")
            )
        except Exception as exc:
            raise FilingError(f"{self.describe()}: {path}: {_graph_reason(exc)}") from exc

    async def _send(self, http: Any, url: str, path: str, data: bytes) -> None:
        """PUT the byte ranges in order; after a 5xx ask the session what it still needs, then go on."""
        total, start, failures = len(data), 0, 0
        while True:
            end = min(start + self.fragment, total) - 1
            chunk = data[start : end + 1]
            headers = {"Content-Range": f"bytes {start}-{end}/{total}", "Content-Length": str(len(chunk))}
            resp = await http.put(url, content=chunk, headers=headers)
            if resp.status_code in (200, 201):
                return
            if resp.status_code == 202:
                start, failures = _next_start(resp.json(), total), 0
                continue
            failures += 1
            if resp.status_code == 429 or (resp.status_code >= 500 and resp.status_code != 507):
                if failures > MAX_RETRIES:
                    raise FilingError(f"{self.describe()}: {path}: HTTP {resp.status_code} {failures} times")
                await self.sleep(_retry_after(resp))
                state = await http.get(url)  # resume: the session says which bytes it still lacks
                if state.status_code != 200:
                    raise FilingError(
                        f"{self.describe()}: {path}: the upload session is gone after HTTP "
                        f"{resp.status_code}; run `drill file` again"
                    )
                start = _next_start(state.json(), total)
                continue
            await http.delete(url)
            raise FilingError(f"{self.describe()}: {path}: {_upload_reason(resp)}")

    async def _read_back(self, drill_id: str, into: Path) -> Path:
        """Every file under the filed folder, found by listing it (not by trusting its manifest), so a file
        added there after signing shows up in verify as one."""
        client = self.graph()
        try:
            drive = await self._drive_id(client)
            copy = into / drill_id
            private_mkdir(copy)
            found = await self._tree(client, drive, self._path(drill_id, ""), "")
            if manifest.MANIFEST not in found or manifest.SIGNATURE not in found:
                raise FilingError(
                    f"{self.describe()}: {drill_id} has no signed manifest there (never filed?)"
                )
            for rel, item_id in sorted(found.items()):
                data = await client.drives.by_drive_id(drive).items.by_drive_item_id(item_id).content.get()
                private_mkdir((copy / rel).parent)
                atomic_write(copy / rel, bytes(data or b""))
            return copy
        finally:
            await _close(client)

    async def _tree(self, client: Any, drive: str, folder: str, rel: str) -> dict[str, str]:
        """Bundle-relative path -> item id of every file under `folder` (its subfolders included)."""
        try:
            page = (
                await client.drives.by_drive_id(drive)
                .items.by_drive_item_id(f"root:/{folder}:")
                .children.get()
            )
        except Exception as exc:
            if _status(exc) == 404:
                return {}
            raise
        if getattr(page, "odata_next_link", None):
            raise FilingError(
                f"{self.describe()}: {folder} lists more than one page; not a bundle this tool filed"
            )
        out: dict[str, str] = {}
        for item in page.value or []:
            name = str(item.name or "")
            if not name or name in (".", "..") or "/" in name or "\\" in name:
                raise FilingError(f"{self.describe()}: {folder} holds an item with an unsafe name {name!r}")
            path = f"{rel}{name}"
            if item.folder is not None:
                out.update(await self._tree(client, drive, f"{folder}/{name}", f"{path}/"))
            else:
                out[path] = str(item.id)
        return out


def _next_start(body: Any, total: int) -> int:
    ranges = body.get("nextExpectedRanges") if isinstance(body, dict) else None
    if not ranges:
        return total
    return int(str(ranges[0]).split("-", 1)[0])


def _retry_after(resp: Any) -> float:
    try:
        return min(max(float(resp.headers.get("Retry-After", "1")), 0.0), 60.0)
    except ValueError:
        return 1.0


def _upload_reason(resp: Any) -> str:
    try:
        code = resp.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    if resp.status_code == 507:
        return (
            f"HTTP 507 {code}: the site's storage quota is full; free space or raise the quota, "
            "then run `drill file`"
        )
    if resp.status_code == 409:
        return f"HTTP 409 {code}: a file of that name already exists; it is never overwritten"
    return f"HTTP {resp.status_code} {code}".strip()


def _status(exc: Exception) -> int | None:
    code = getattr(exc, "response_status_code", None)
    return int(code) if isinstance(code, int) else None


def _graph_reason(exc: Exception) -> str:
    status = _status(exc)
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None) or ""
    if status == 403:
        return (
            f"HTTP 403 {code}: the observer may not write to this site; grant its app Sites.Selected with "
            "the write role on this one site (README: Filing)"
        )
    if status == 409:
        return f"HTTP 409 {code}: a file of that name already exists; it is never overwritten"
    if status == 507:
        return f"HTTP 507 {code}: the site's storage quota is full"
    if status is not None:
        return f"HTTP {status} {code}".strip()
    return f"{type(exc).__name__}: {exc}"


async def _close(client: Any) -> None:
    http = getattr(getattr(client, "request_adapter", None), "_http_client", None)
    close = getattr(http, "aclose", None)
    if close is not None:
        await close()
