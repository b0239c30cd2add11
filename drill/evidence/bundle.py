"""Writing one drill's evidence folder so that a crash can never leave a PASS without its proof.

Order of writing (the point of this module):
1. `begin` creates `<drill_id>.partial/` with an INCOMPLETE report.json; `step`, `checkpoint` and
   `add_screenshot` rewrite it atomically as each result lands, so Ctrl-C or a crash keeps everything so far.
2. `finish` writes the final report.json, log.jsonl (redacted), report.html, report.pdf, the schema and the
   public key, each fsynced; then manifest.json and manifest.sig last.
3. The folder is renamed to `<drill_id>/` (atomic) and the parent synced.
4. Only then is the ledger line appended, and the account's history page refreshed.

A folder without a valid signed manifest is INCOMPLETE by definition (see verify.py), whatever its
report.json says. A complete bundle missing from the ledger (crash between 3 and 4) is appended by
`reconcile` at the next `begin`.

Reconcile signs what it appends with the workstation's key, so it must never adopt a folder someone else
put in the reports folder: a planted, self-signed PASS would come out signed by us. It adopts only bundles
signed by this writer's own key whose drill id this writer recorded in `started.jsonl` before the drill ran
(each record signed too, since the reports folder is exactly what the attacker can write).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.evidence import ledger, manifest
from drill.evidence._redact import redact, redact_text, redacted_record
from drill.evidence.model import DrillRecord, Finding, StepResult, Verdict, decide_verdict
from drill.evidence.signing import Signer
from drill.fsutil import (
    LinkRefused,
    atomic_write,
    fsync_dir,
    private_mkdir,
    private_subdir,
    sha256_file,
)

PdfRenderer = Callable[[str], bytes]
STARTED_NAME = "started.jsonl"
KIND_STARTED = "drill-started"
HISTORY_DIR = "history"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _default_pdf(html: str) -> bytes:
    from drill.evidence.pdf import render_pdf

    return render_pdf(html)


@dataclass(frozen=True)
class FinishedBundle:
    """What the orchestrator prints: where the evidence is, what it says, how to check it."""

    path: Path
    verdict: Verdict
    reason: str
    manifest_sha256: str
    fingerprint: str
    ledger_path: Path
    ledger_line: dict[str, Any]
    pdf_status: str  # "rendered", "disabled" or "failed: <why>"
    history_page: Path | None
    ledger_head: str = ledger.GENESIS  # hash of the ledger's last line right after this drill's append
    notes: tuple[str, ...] = ()  # worth telling the operator, not part of the verdict

    def summary(self) -> list[str]:
        """Lines for the operator: verdict, where the evidence is, the signing key, how to check it.

        The head hash is what makes a truncated ledger visible later: it is printed for the operator to
        record outside the reports folder (ticket, CMDB), with the command an auditor runs against it.
        """
        lines = [
            f"{self.verdict.value}: {self.reason}",
            f"evidence: {self.path}",
            f"signed with Ed25519 key {self.fingerprint} (public key in {self.path / manifest.PUBLIC_KEY})",
            f"ledger: {self.ledger_path} line {self.ledger_line.get('seq')}, head {self.ledger_head}",
            f"check it: drill verify {self.path} --trust {self.fingerprint}",
            "record the head hash outside this folder; an auditor checks the ledger was not truncated with: "
            f"drill verify --ledger {self.ledger_path} --trust {self.fingerprint} "
            f"--expect-head {self.ledger_head}",
        ]
        if self.pdf_status != "rendered":
            lines.append(f"report.pdf: {self.pdf_status}")
        return lines + list(self.notes)


def writer_for(
    output_dir: Path,
    signing_key: Path | None = None,
    *,
    state_dir: Path | None = None,
    log_path: Path | None = None,
    pdf: PdfRenderer | None = _default_pdf,
) -> BundleWriter:
    """The writer a drill uses, from the playbook's `evidence.output_dir` and `evidence.signing_key`."""
    signer = Signer.load(key_path=signing_key, state_dir=state_dir)
    return BundleWriter(output_dir, signer, log_path=log_path, pdf=pdf)


def safe_name(text: str) -> str:
    """A file name fragment for an account name (history pages)."""
    return _SAFE_NAME.sub("_", text).strip("._")[:100] or "account"


_redacted_record = redacted_record


def _json_bytes(record: DrillRecord) -> bytes:
    return (record.model_dump_json(indent=2) + "\n").encode()


class BundleWriter:
    """One drill's evidence folder under `reports_dir`; see the module docstring for the order of writes."""

    def __init__(
        self,
        reports_dir: Path,
        signer: Signer,
        *,
        ledger_path: Path | None = None,
        pdf: PdfRenderer | None = _default_pdf,
        history: bool = True,
        log_path: Path | None = None,
    ) -> None:
        self.reports_dir = Path(reports_dir)
        self.signer = signer
        self.ledger_path = ledger_path or self.reports_dir / ledger.LEDGER_NAME
        self._pdf = pdf
        self._history = history
        self._log_path = log_path
        self._record: DrillRecord | None = None
        self._final: Path | None = None
        self.finished: FinishedBundle | None = None
        self._shots = 0

    # -- while the drill runs ------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The folder being written (`<id>.partial`) — after `finish`, the final `<id>` folder."""
        record = self._require()
        if self._final is not None:
            return self._final
        return self.reports_dir / (record.drill_id + manifest.PARTIAL_SUFFIX)

    def begin(self, record: DrillRecord) -> None:
        """Create `<drill_id>.partial/` with an INCOMPLETE report.json (the folder is `self.path`)."""
        manifest.check_drill_id(record.drill_id)
        private_mkdir(self.reports_dir)
        final = self.reports_dir / record.drill_id
        partial = self.reports_dir / (record.drill_id + manifest.PARTIAL_SUFFIX)
        if final.exists() or partial.exists():
            raise ValueError(f"evidence for drill {record.drill_id} already exists in {self.reports_dir}")
        reconcile(self.reports_dir, self.ledger_path, self.signer)
        record_started(self.reports_dir, record.drill_id, self.signer)  # before anything of it exists
        readme = self.reports_dir / "README.md"
        if not readme.exists():
            atomic_write(readme, (Path(__file__).parent / "templates" / "reports_readme.md").read_bytes())
        private_mkdir(partial, exist_ok=False)
        private_mkdir(partial / manifest.SCREENSHOTS, exist_ok=False)
        fsync_dir(self.reports_dir)
        self._record = record
        self._write_progress()

    def checkpoint(self, record: DrillRecord) -> None:
        """Replace the whole in-progress record (timings, findings...); stays INCOMPLETE on disk."""
        if record.drill_id != self._require().drill_id:
            raise ValueError("checkpoint of a different drill")
        self._record = record
        self._write_progress()

    def update(self, record: DrillRecord) -> None:
        """The orchestrator's `RecordSink.update`: same as `checkpoint`."""
        self.checkpoint(record)

    def step(self, result: StepResult) -> None:
        """Record a step the moment it finishes (a step of the same name is replaced)."""
        record = self._require()
        steps = [s for s in record.steps if s.step != result.step] + [result]
        self._record = record.model_copy(update={"steps": steps})
        self._write_progress()

    def add_screenshot(self, name: str, data: bytes) -> str:
        """Store an image now; returns its bundle-relative path for `StepResult.screenshots`."""
        self._require()
        self._shots += 1
        stem = safe_name(Path(name).stem)[:60]
        ext = ".jpg" if data[:2] == b"\xff\xd8" else ".png"
        rel = f"{manifest.SCREENSHOTS}/{self._shots:02d}-{stem}{ext}"
        atomic_write(self.path / rel, data)
        return rel

    def _require(self) -> DrillRecord:
        if self._record is None:
            raise RuntimeError("BundleWriter.begin() has not been called")
        return self._record

    def _write_progress(self) -> None:
        record = self._require()
        verdict, reason = decide_verdict(record.steps, finished=False)
        shown = record.model_copy(update={"verdict": verdict, "reason": reason})
        atomic_write(self.path / manifest.REPORT_JSON, _json_bytes(_redacted_record(shown)))

    # -- the end -------------------------------------------------------------------------------------------
    def finish(self, record: DrillRecord, log_path: Path | None = None) -> None:
        """The orchestrator's `RecordSink.finish`: `finalize`, keeping the outcome in `self.finished`."""
        self.finalize(record, log_path)

    def finalize(self, record: DrillRecord, log_path: Path | None = None) -> FinishedBundle:
        """Write every file, sign, publish the folder, append the ledger line (blocking; ~1-2 s for the PDF).

        The log is read from `log_path`, else the constructor's `log_path`, else a `log.jsonl` the drill's
        logging already writes inside the partial folder; it is redacted again on the way in.

        The verdict is the record's, except that PASS is re-checked here (fail closed): it needs every
        required step and check passed and every referenced screenshot present in the bundle.
        Call it for interrupted drills too, with `verdict=INCOMPLETE`, to get a signed INCOMPLETE bundle.
        From asyncio code: `await asyncio.to_thread(writer.finish, record, log_path)`.
        """
        current = self._require()
        if record.drill_id != current.drill_id:
            raise ValueError("finish of a different drill")
        if self._final is not None:
            raise RuntimeError("finish() was already called for this drill")
        folder = self.path
        record = self._final_verdict(record, folder)
        record = _redacted_record(record)
        pdf_status = "disabled"
        html = ""
        source = log_path or self._log_path or folder / manifest.LOG
        atomic_write(folder / manifest.LOG, _redacted_log(source))
        atomic_write(folder / manifest.REPORT_SCHEMA, manifest.report_schema())
        atomic_write(folder / manifest.PUBLIC_KEY, self.signer.public_pem())
        if self._pdf is not None:
            html = self._html(record, folder)
            try:
                pdf_bytes = self._pdf(html)
            except Exception as exc:  # noqa: BLE001 (any renderer failure becomes a finding, not a lost drill)
                pdf_status = f"failed: {redact_text(str(exc))[:300]}"
                record = record.model_copy(
                    update={
                        "findings": [
                            *record.findings,
                            Finding(severity="warning", title="report.pdf not rendered", detail=pdf_status),
                        ]
                    }
                )
            else:
                atomic_write(folder / manifest.REPORT_PDF, pdf_bytes)
                pdf_status = "rendered"
        if pdf_status != "rendered":  # the record changed (finding) or no PDF: render the HTML now
            html = self._html(record, folder)
        atomic_write(folder / manifest.REPORT_JSON, _json_bytes(record))
        atomic_write(folder / manifest.REPORT_HTML, html.encode())
        body = manifest.build(folder, record, self.signer, pdf_status)
        atomic_write(folder / manifest.MANIFEST, body)
        atomic_write(folder / manifest.SIGNATURE, (self.signer.sign(body) + "\n").encode())
        final = self.reports_dir / record.drill_id
        folder.rename(final)
        fsync_dir(self.reports_dir)
        self._final = final
        digest = sha256_file(final / manifest.MANIFEST)
        line = ledger.append(self.ledger_path, ledger.drill_entry(record, final.name, digest), self.signer)
        page: Path | None = None
        notes: tuple[str, ...] = ()
        if self._history:
            try:
                page = write_history(self.reports_dir, self.ledger_path, record.account_name, self.signer)
            except LinkRefused as exc:  # derived: the evidence stands, the operator hears of the plant
                notes = (f"history page not written: {exc}",)
        self._record = record
        self.finished = FinishedBundle(
            final,
            record.verdict,
            record.reason,
            digest,
            self.signer.fingerprint,
            self.ledger_path,
            line,
            pdf_status,
            page,
            ledger.head_of(self.ledger_path),
            notes,
        )
        return self.finished

    def _html(self, record: DrillRecord, folder: Path) -> str:
        from drill.evidence.html import render_report

        return render_report(record, folder, self.signer.fingerprint)

    @staticmethod
    def _final_verdict(record: DrillRecord, folder: Path) -> DrillRecord:
        if record.verdict is not Verdict.PASS:
            return record
        verdict, reason = decide_verdict(record.steps, finished=True)
        missing = [
            rel for s in record.steps for rel in s.screenshots if not (folder / rel).is_file() or ".." in rel
        ]
        if verdict is Verdict.PASS and missing:
            verdict, reason = Verdict.FAIL, f"evidence missing from the bundle: {', '.join(missing)}"
        if verdict is Verdict.PASS:
            return record
        return record.model_copy(update={"verdict": verdict, "reason": reason})


def _redacted_log(log_path: Path | None) -> bytes:
    """The drill's structlog JSON lines, each redacted again on the way into the bundle."""
    if log_path is None or not log_path.exists():
        return b""
    out = []
    for raw in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            out.append(json.dumps({"event": redact_text(raw), "unparsed": True}))
            continue
        out.append(json.dumps(redact(event), ensure_ascii=False, default=str))
    return ("\n".join(out) + "\n").encode() if out else b""


def reconcile(reports_dir: Path, ledger_path: Path, signer: Signer) -> list[str]:
    """Append ledger lines for this workstation's own finished bundles the ledger lacks (a crash after the
    rename); anything else in the folder is left for `drill verify` to report, never signed by us.

    "Lacks" is judged on the lines that verify against this writer's key only, so a forged line naming
    one of our drills does not stop its genuine line from being written.
    """
    from drill.evidence.verify import verify_bundle

    if not reports_dir.is_dir():
        return []
    # Only lines this key signed and that verify say a drill is recorded: a line someone else appended
    # with our drill's id must not keep the genuine one out of the ledger.
    book = ledger.verify(ledger_path, {signer.fingerprint}) if ledger_path.is_file() else None
    known = {e.get("drill_id") for e in (book.verified if book else []) if e.get("kind") == ledger.KIND_DRILL}
    ours = started_ids(reports_dir, signer)
    added = []
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir()):
        if folder.name in known or not (folder / manifest.SIGNATURE).is_file():
            continue
        if folder.name.endswith(manifest.PARTIAL_SUFFIX) or not manifest.DRILL_ID.fullmatch(folder.name):
            continue
        if folder.name not in ours:
            continue  # not begun by this writer: planted, or copied from elsewhere
        result = verify_bundle(folder, trusted={signer.fingerprint}, check_ledger=False)
        if result.status != "VALID" or result.record is None:
            continue
        digest = sha256_file(folder / manifest.MANIFEST)
        ledger.append(ledger_path, ledger.drill_entry(result.record, folder.name, digest), signer)
        added.append(folder.name)
    return added


def _started_claim(drill_id: str, signer: Signer) -> dict[str, Any]:
    return {"kind": KIND_STARTED, "drill_id": drill_id, "signer": signer.fingerprint}


def record_started(reports_dir: Path, drill_id: str, signer: Signer) -> None:
    """Note, signed, that this writer began `drill_id` here: the one thing `reconcile` will adopt.

    The whole file is rewritten atomically under the ledger's lock (a scheduler and a manual drill may
    begin together), so a crash leaves the old record or the new one.
    """
    path = reports_dir / STARTED_NAME
    claim = _started_claim(drill_id, signer)
    line = ledger.canonical({**claim, "sig": signer.sign(ledger.canonical(claim))}) + b"\n"
    with ledger.locked(path):
        old = path.read_bytes() if path.is_file() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        atomic_write(path, old + line)


def started_ids(reports_dir: Path, signer: Signer) -> set[str]:
    """Drill ids recorded by `record_started` with this signer's key; lines it did not sign are ignored."""
    from drill.evidence.signing import verify_signature

    path = reports_dir / STARTED_NAME
    try:
        data = path.read_bytes()
    except OSError:
        return set()
    found = set()
    for raw in data.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("drill_id"), str):
            continue
        claim = _started_claim(entry["drill_id"], signer)
        sig = entry.get("sig")
        if isinstance(sig, str) and verify_signature(signer.public_b64, ledger.canonical(claim), sig):
            found.add(entry["drill_id"])
    return found


def write_history(reports_dir: Path, ledger_path: Path, account: str, signer: Signer) -> Path | None:
    """Refresh `history/<account>.html` from the ledger (derived, unsigned: the ledger is the record).

    Only lines that verify and are signed by `signer` (the key this workstation's drills sign with) are
    shown as drills, as `drill schedule status` counts them; the page says how many other lines it left out,
    so a planted or edited line is neither shown as a drill nor hidden from the reader. A `history` that is
    a link (planted to redirect the write) raises LinkRefused: nothing is written through it.
    """
    from drill.evidence.html import render_history

    report = ledger.verify(ledger_path, {signer.fingerprint})
    entries = [
        e for e in report.verified if e.get("kind") == ledger.KIND_DRILL and e.get("account") == account
    ]
    try:
        target = private_subdir(reports_dir, HISTORY_DIR) / f"{safe_name(account)}.html"
        atomic_write(target, render_history(account, entries, left_out=len(report.problems)).encode())
    except LinkRefused:
        raise  # planted: the caller says so
    except OSError:
        return None  # derived and optional: the drill's evidence and ledger line are already written
    return target
