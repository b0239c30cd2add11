"""Filing a finished bundle where auditors look for it, and a signed receipt for each copy.

The bundle in the output folder is always the primary copy. Filing copies it, reads the copy back and checks
it against the manifest, the signature (this workstation's key, pinned) and the ledger; only then is a
receipt (destination, where the copy is, the SHA-256 of manifest.json as stored there) appended to the
ledger as a signed line. A failure never changes the verdict: it is returned, printed loudly by the caller
and recorded, and `drill file BUNDLE` retries later.

Never overwrite: a destination that already holds this bundle (the same files, byte for byte, none of them a
link) is a success, anything else under the same name is an error. Nothing here signs a bundle it did not
write: a bundle must verify against the ledger and this writer's own key before it is filed.

SharePoint goes through Graph as the observer (least privilege: Sites.Selected with write on the one site).
Every file is uploaded through an upload session (`conflictBehavior: fail`), the manifest and its signature
last, so a partial filing is INCOMPLETE by definition. msgraph_core's LargeFileUploadTask is not used: it
logs and swallows a failed fragment and carries on, which would file a hole and call it done.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from drill.evidence import ledger, manifest
from drill.evidence.signing import Signer
from drill.fsutil import O_NOFOLLOW, atomic_write, fsync_dir, private_mkdir, sha256_file
from drill.secrets import register_secret

KIND_FILING = "filing"
FRAGMENT = 10 * 320 * 1024  # a multiple of 320 KiB, as Graph requires of every fragment but the last
MAX_RETRIES = 5


class FilingError(Exception):
    """A filing that did not happen (or cannot be trusted); the message says what to do."""


@dataclass(frozen=True)
class Receipt:
    """Where one copy went and the manifest hash read back from it."""

    destination: str
    location: str  # a folder path, or a SharePoint item id and web URL
    manifest_sha256: str
    already_filed: bool = False


class Filer(Protocol):
    """Files one finished bundle folder; returns the receipt, raises FilingError or OSError on failure."""

    def describe(self) -> str: ...

    def file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt: ...


def _bundle_files(bundle: Path) -> list[str]:
    """Upload order: the manifest and its signature last, so a half-filed copy has no valid manifest."""
    return [*manifest.bundle_files(bundle), manifest.MANIFEST, manifest.SIGNATURE]


@dataclass(frozen=True)
class FolderFiler:
    """Copy the bundle to another folder (a mounted share), privately and atomically, then verify the copy.

    A copy is real files in real folders: a link anywhere in it (or at the target folder itself) is refused,
    since a share holding links to the primary bundle holds no copy at all. The receipt names the copy's
    resolved location, which is where `drill verify FILED-COPY` expects to find it.
    """

    target: Path

    def describe(self) -> str:
        return f"folder {self.target}"

    def file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt:
        target = self.target.absolute()
        if target.is_symlink():
            raise FilingError(
                f"{target}: the filing folder is a symbolic link, refused; name the real folder in "
                "evidence.filing"
            )
        destination = target / bundle.name
        want = sha256_file(bundle / manifest.MANIFEST)
        if os.path.lexists(destination):
            _holds_the_same_bundle(bundle, destination)
            check(destination)
            return Receipt(self.describe(), str(destination.resolve()), want, already_filed=True)
        private_mkdir(target)
        staging_root = destination.parent / f".{bundle.name}.filing-{secrets.token_hex(4)}"
        private_mkdir(staging_root, exist_ok=False)
        staging = staging_root / bundle.name  # the same folder name, so the copy verifies as itself
        try:
            private_mkdir(staging, exist_ok=False)
            for rel in _bundle_files(bundle):
                private_mkdir((staging / rel).parent)
                atomic_write(staging / rel, (bundle / rel).read_bytes())
            check(staging)
            staging.rename(destination)
            fsync_dir(destination.parent)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
        return Receipt(
            self.describe(), str(destination.resolve()), sha256_file(destination / manifest.MANIFEST)
        )


def _holds_the_same_bundle(bundle: Path, destination: Path) -> None:
    """ "Already filed" means: real files only, exactly the bundle's, each the same bytes; else FilingError.

    A copy that is the primary folder itself (a target pointing back at the reports folder) is no copy.
    """
    found = _regular_files(destination)
    if destination.resolve() == bundle.resolve():
        raise FilingError(f"{destination} is the primary bundle itself, not a copy; file to another folder")
    if sorted(found) != sorted(_bundle_files(bundle)) or any(
        _read_no_follow(destination / rel) != (bundle / rel).read_bytes() for rel in found
    ):
        raise FilingError(
            f"{destination} already exists and holds a different bundle; it is never overwritten "
            "(move it aside if it is not evidence)"
        )


def _regular_files(folder: Path, rel: str = "") -> list[str]:
    """Bundle-relative paths of every file under `folder`; FilingError at a link or anything but a file."""
    here = folder / rel if rel else folder
    try:
        info = here.lstat()
    except OSError as exc:
        raise FilingError(f"{here}: cannot read it ({exc.strerror})") from exc
    if stat.S_ISLNK(info.st_mode):
        raise FilingError(
            f"{here} is a symbolic link: a filed copy holds real files only, so this is not one; refused "
            "(remove the link if it is not evidence)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise FilingError(f"{here} is not a folder; it is never overwritten (move it aside)")
    out: list[str] = []
    with os.scandir(here) as entries:
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                out += _regular_files(folder, path)
            elif entry.is_file(follow_symlinks=False):
                out.append(path)
            else:  # a link (to a file or a folder), a FIFO, a device: not a copy of anything
                kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                raise FilingError(
                    f"{folder / path} is {kind}: a filed copy holds real files only, so this is not one; "
                    "refused (remove it if it is not evidence)"
                )
    return out


def _read_no_follow(path: Path) -> bytes:
    """A file's bytes, refusing a link swapped in since the folder was listed."""
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
    except OSError as exc:
        raise FilingError(f"{path}: cannot read it as a regular file ({exc.strerror}); refused") from exc
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


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
            for rel in _bundle_files(bundle):
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


@dataclass(frozen=True)
class FilingResult:
    target: str
    ok: bool
    detail: str  # where it went, or why not
    receipt: Receipt | None = None
    attempted: bool = True  # False: the bundle itself did not verify, so nothing was sent anywhere


def receipt_entry(drill_id: str, receipt: Receipt) -> dict[str, Any]:
    """The ledger line of one filing (signed and chained like every line)."""
    return {
        "kind": KIND_FILING,
        "drill_id": drill_id,
        "destination": receipt.destination,
        "location": receipt.location,
        "manifest_sha256": receipt.manifest_sha256,
        "already_filed": receipt.already_filed,
    }


def _checker(signer: Signer, ledger_path: Path) -> Callable[[Path], None]:
    from drill.evidence.verify import verify_bundle

    def check(copy: Path) -> None:
        result = verify_bundle(copy, trusted={signer.fingerprint}, ledger_path=ledger_path, check_ledger=True)
        if result.status != "VALID":
            problem = result.problems[0] if result.problems else result.status
            raise FilingError(f"the filed copy at {copy} does not verify: {problem}")

    return check


def file_bundle(bundle: Path, filers: list[Filer], signer: Signer, ledger_path: Path) -> list[FilingResult]:
    """File one bundle to every target and append a receipt per success; failures are returned, never raised.

    The bundle itself must verify first against this signer's key and the ledger: filing never launders a
    bundle this workstation did not write.
    """
    check = _checker(signer, ledger_path)
    try:
        check(bundle)
    except FilingError as exc:
        return [FilingResult(f.describe(), False, f"not filed: {exc}", attempted=False) for f in filers]
    results = []
    for filer in filers:
        try:
            receipt = filer.file(bundle, check)
        except (FilingError, OSError, ValueError) as exc:
            results.append(FilingResult(filer.describe(), False, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 (a library's surprise must not lose the other targets)
            results.append(FilingResult(filer.describe(), False, f"{type(exc).__name__}: {exc}"))
            continue
        ledger.append(ledger_path, receipt_entry(bundle.name, receipt), signer)
        note = " (already there)" if receipt.already_filed else ""
        results.append(FilingResult(filer.describe(), True, receipt.location + note, receipt))
    return results


def receipts(ledger_path: Path, drill_id: str) -> list[dict[str, Any]]:
    """The filing receipts of one drill, in ledger order."""
    return [e for e in ledger.read_entries(ledger_path, kind=KIND_FILING) if e.get("drill_id") == drill_id]


def filers_for(playbook: Any, cloud: Any) -> list[Filer]:
    """Filers for the playbook's `evidence.filing` entries; SharePoint ones act as the observer."""
    out: list[Filer] = []
    for item in playbook.evidence.filing:
        if item.kind == "folder":
            out.append(FolderFiler(Path(item.path)))
        else:
            out.append(
                SharePointFiler(str(item.site_url), item.library, item.folder, *_graph_pair(playbook, cloud))
            )
    return out


def _graph_pair(playbook: Any, cloud: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def graph() -> Any:
        from drill.auth import observer_credential
        from drill.clients import graph_client_at, graph_scopes

        return graph_client_at(
            observer_credential(playbook, cloud),
            cloud.graph_endpoint,
            graph_scopes(cloud, (".default",)),
            ca_bundle=cloud.ca_bundle,
            keep_alive=False,
        )

    def http() -> Any:
        import ssl

        import httpx

        verify = ssl.create_default_context(cafile=cloud.ca_bundle) if cloud.ca_bundle else True
        return httpx.AsyncClient(verify=verify, trust_env=False, timeout=120)

    return graph, http
