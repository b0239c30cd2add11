"""The fidelity pack: the shapes a drill met, recorded where the product reads them, written at the end.

`drill preflight`, `drill run` and `drill demo` take `--fidelity-pack DIR`; while `recording(DIR)` is open,
the product's readers hand what they read to the `note_*` functions here (the sign-in driver its pages'
`$Config` keys and element ids, the ARM reader the raw JSON, the alert-mail step the mail, the log steps
their rows), which keep only shapes (drill.fidelity.shapes). Outside `recording` every `note_*` is a no-op.
`drill sim compare-pack DIR` lists where a pack differs from the simulator and which belief that confirms
or refutes. The ids' hash salt lives in memory only, so a pack cannot be matched against a guessed id.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drill.fidelity.mail import mail_structure
from drill.fidelity.shapes import GUID, MAX_ITEMS, json_shape, string_shape

FORMAT = "drill-fidelity-pack/1"
PACK_FILE = "pack.json"
ARM_KINDS = ("scheduledQueryRule", "actionGroup", "diagnosticSetting", "alertInstance")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
MAX_IDS = 400  # element ids kept per page (Entra's pages carry a few dozen)


class Recorder:
    """The shapes met during one command (thread-safe: the ARM SDKs call back from worker threads)."""

    def __init__(self) -> None:
        self.salt = secrets.token_bytes(16)
        self.lock = threading.Lock()
        self.pages: list[dict[str, Any]] = []
        self.arm: dict[str, list[Any]] = {}
        self.mail: list[dict[str, Any]] = []
        self.logs: dict[str, dict[str, Any]] = {}
        self.served: dict[str, str] = {}  # the simulator's chosen forms, when the demo wrote the pack

    def page(self, pgid: str | None, view: str, config_keys: Sequence[str], ids: Sequence[str]) -> None:
        key = {"pgid": pgid if isinstance(pgid, str) else None, "view": view}
        with self.lock:
            entry = next((p for p in self.pages if {"pgid": p["pgid"], "view": p["view"]} == key), None)
            if entry is None:
                entry = {**key, "config_keys": [], "ids": []}
                self.pages.append(entry)
            entry["config_keys"] = sorted({*entry["config_keys"], *_names(config_keys)})
            entry["ids"] = sorted({*entry["ids"], *_names(ids[:MAX_IDS])})

    def arm_json(self, kind: str, document: Any) -> None:
        shape = json_shape(document, self.salt)
        with self.lock:
            shapes = self.arm.setdefault(kind, [])
            if shape not in shapes and len(shapes) < MAX_ITEMS:
                shapes.append(shape)

    def mail_seen(self, subject: str, body: str, content_type: str) -> None:
        structure = mail_structure(subject, body, content_type)
        with self.lock:
            if structure not in self.mail and len(self.mail) < MAX_ITEMS:
                self.mail.append(structure)

    def rows(
        self, table: str, rows: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None
    ) -> None:
        """Columns (with the kind of their values), result codes and, for dynamic columns, their shapes."""
        with self.lock:
            entry = self.logs.setdefault(table, {"columns": {}, "result_codes": [], "dynamic": {}})
            for row in rows:
                for name, value in row.items():
                    if name.startswith("_"):
                        continue
                    parsed = _dynamic(value)
                    if parsed is not None:
                        entry["columns"][name] = "dynamic"
                        shape = json_shape(parsed, self.salt, name)
                        shapes = entry["dynamic"].setdefault(name, [])
                        if shape not in shapes and len(shapes) < MAX_ITEMS:
                            shapes.append(shape)
                    else:
                        entry["columns"].setdefault(name, _kind(value, self.salt, name))
                code = row.get("ResultType")
                if (
                    code is not None
                    and str(code).lstrip("-").isdigit()
                    and str(code) not in entry["result_codes"]
                ):
                    entry["result_codes"].append(str(code))
            entry["result_codes"].sort(key=lambda c: int(c))
            for name, value in (extra or {}).items():
                entry[name] = value

    def document(self) -> dict[str, Any]:
        with self.lock:
            return {
                "format": FORMAT,
                "served": dict(self.served),
                "pages": [dict(p) for p in self.pages],
                "arm": {k: list(v) for k, v in sorted(self.arm.items())},
                "mail": list(self.mail),
                "logs": {k: dict(v) for k, v in sorted(self.logs.items())},
            }


def _names(names: Sequence[str]) -> set[str]:
    """Identifiers a page's author chose (`i0116`, `sFidoChallenge`); anything else (an id built from a
    user name, a GUID) is not a name of the template and is left out."""
    return {str(n) for n in names if NAME.match(str(n)) and not GUID.search(str(n))}


def _dynamic(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _kind(value: Any, salt: bytes, name: str) -> str:
    if value is None:
        return "null"
    if hasattr(value, "isoformat"):
        return "datetime"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    shape = string_shape(str(value), salt, name)
    return "id" if shape.startswith("id#") else ("enum" if shape.startswith("enum:") else shape)


_ACTIVE: list[Recorder] = []


def active() -> Recorder | None:
    return _ACTIVE[-1] if _ACTIVE else None


@contextmanager
def recording(folder: Path | None) -> Iterator[Recorder | None]:
    """Record shapes while the block runs and write `folder/pack.json` at its end (also after a FAIL:
    a failing drill's shapes are the most useful ones). `None` records nothing."""
    if folder is None:
        yield None
        return
    from drill.fsutil import atomic_write, private_mkdir

    recorder = Recorder()
    _ACTIVE.append(recorder)
    try:
        yield recorder
    finally:
        _ACTIVE.remove(recorder)
        private_mkdir(folder)
        text = json.dumps(recorder.document(), indent=1, sort_keys=True) + "\n"
        atomic_write(folder / PACK_FILE, text.encode())


def note_page(pgid: str | None, view: str, config_keys: Sequence[str], ids: Sequence[str]) -> None:
    if (rec := active()) is not None:
        rec.page(pgid, view, config_keys, ids)


def note_arm(kind: str, document: Any) -> None:
    if (rec := active()) is not None:
        rec.arm_json(kind, document)


def note_mail(subject: str, body: str, content_type: str | None = None) -> None:
    if (rec := active()) is not None:
        kind = content_type or ("html" if "<" in body[:2000] else "text")
        rec.mail_seen(subject, body, kind)


def note_rows(table: str, rows: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None) -> None:
    if (rec := active()) is not None:
        rec.rows(table, rows, extra)


def note_served(forms: Mapping[str, str]) -> None:
    """The demo's simulator forms, so a demo pack says what it was compared under."""
    if (rec := active()) is not None:
        rec.served.update(forms)


def load_pack(folder: Path) -> dict[str, Any]:
    """A pack folder's document; ValueError naming the file and what is wrong."""
    path = folder / PACK_FILE if folder.is_dir() else folder
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path}: not a fidelity pack ({exc}); pass the folder `--fidelity-pack` wrote"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fidelity pack of format {FORMAT}")
    return doc
