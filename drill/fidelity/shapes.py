"""Shapes, not data: what a fidelity pack keeps of a JSON document, a mail and a label.

A pack must be safe to attach to a public bug report, so nothing here lets a value through unless it is
one of a few words Microsoft's own templates use. Every JSON leaf becomes its type (`string`, `datetime`,
`duration`, `integer`, ...); strings that are identifiers (GUIDs, ARM ids, URLs) become `id#` plus a hash
salted per pack (equal ids stay equal within one pack, and nobody can test a guessed id against it);
object keys that are user-chosen (tags) are dropped with their values; a short list of enumeration fields
(monitorCondition, category, ...) keeps a value only when it is a plain word. Text (a mail's labels, a
subject) keeps only the words of `VOCABULARY`; everything else becomes `<v>`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
DURATION = re.compile(r"^P(\d+[YMWD])*(T(\d+(\.\d+)?[HMS])+)?$")
WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,39}$")
# Keys whose values are Microsoft's enumerations, kept when they are a plain word.
ENUM_KEYS = frozenset(
    {
        "monitorCondition", "alertState", "signalType", "severity", "monitorService", "kind", "type",
        "category", "operator", "timeAggregation", "status", "monitorConditionResolved", "actionStatus",
        "ResultType", "Category", "OperationName", "Result", "ConditionalAccessStatus", "result",
        "AuthenticationRequirement", "authenticationMethod", "operationType", "criterionType",
    }
)  # fmt: skip
DROPPED_KEYS = frozenset({"tags"})  # user-chosen keys: the key names themselves could identify
COLON = ":"
MAX_ITEMS = 5  # distinct item shapes kept per list
# Words of Azure Monitor's mail templates, the common alert schema and Entra's page titles. A label or a
# subject keeps these and nothing else.
_WORDS = """
    fired resolved activated deactivated sev severity azure monitor alert alerts rule rules on at in of the
    for to and or with by from is was a an id ids name type time times window start end size threshold
    operator metric value values dimension dimensions affected resource resources group groups subscription
    condition conditions service monitoring signal search results result view query link description
    date created modified state evaluation frequency count total number log logs analytics workspace
    essentials context custom properties target targets level more details investigate open portal
    see why this that you are receiving notification email action actions manage unsubscribe
    microsoft privacy statement corporation redmond way one wa usa
"""
VOCABULARY = frozenset(_WORDS.split())
_STOP = """a an the of on at in to and or for with by from is was are one this that"""
STOP_WORDS = frozenset(_STOP.split())


def _hash(salt: bytes, text: str) -> str:
    return "id#" + hashlib.sha256(salt + text.lower().encode()).hexdigest()[:10]


def string_shape(value: str, salt: bytes, key: str | None = None) -> str:
    """A string leaf as its kind: an id (hashed), a date-time, a duration, an enumeration word, or text."""
    text = value.strip()
    if key in ENUM_KEYS and WORD.match(text) and not GUID.search(text):
        return f"enum:{text}"
    if DATETIME.match(text):
        return "datetime"
    if DURATION.match(text) and text != "P":
        return "duration"
    if GUID.search(text) or text.startswith(("/subscriptions/", "/providers/", "/tenants/")):
        return _hash(salt, text)
    if text.startswith(("https://", "http://")):
        return "url"
    return "string" if text else "empty-string"


def json_shape(value: Any, salt: bytes, key: str | None = None) -> Any:
    """The shape of a JSON value: every leaf replaced by its type, ids hashed, text dropped."""
    if isinstance(value, dict):
        return {
            str(k) if not GUID.search(str(k)) else _hash(salt, str(k)): json_shape(v, salt, str(k))
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
            if str(k) not in DROPPED_KEYS
        }
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            shape = json_shape(item, salt, key)
            if shape not in items and len(items) < MAX_ITEMS:
                items.append(shape)
        return items
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return string_shape(str(value), salt, key)


def words_shape(text: str) -> str:
    """Text as its template: the words of VOCABULARY kept, each run of other words, numbers or marks `<v>`."""
    out: list[str] = []
    for token in re.findall(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]", text):
        if not token[0].isalnum():
            if token == COLON and out and out[-1] not in ("<v>", COLON):
                out.append(token)  # "Fired:" and "Dimension:" are the template's; other marks are not kept
            continue
        kept = token if token.lower() in VOCABULARY else "<v>"
        if kept == "<v>" and out and out[-1] == "<v>":
            continue
        out.append(kept)
    return " ".join(out)
