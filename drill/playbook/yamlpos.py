"""YAML in, plain Python out, with the line and column of every node kept aside.

Validation errors are only useful to an operator when they point at the line to fix. ruamel.yaml's round-trip
loader records positions on its container nodes; we copy them into a table keyed by the node's path
(``("accounts", 0, "key", "aaguids", 1)``) and hand pydantic plain dicts, lists and scalars, so the model
never sees ruamel types and every error can be mapped back to ``file:line:col``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError

Loc = tuple[str | int, ...]
MAX_BYTES = 1_000_000
# Parsed texts kept per process: the same playbook is read at every start of a drill, an audit or a demo
# (about 25 ms of ruamel each time, twice over: the tag and alias pass, then the load). Only a text that
# parsed cleanly is kept; a failing one raises its error again at every read.
PARSED_KEPT = 32
_PARSED: dict[str, tuple[Any, dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]] = {}
MAX_NODES = 50_000  # a playbook has a few hundred values; aliases, which could multiply them, are refused


@dataclass
class Positions:
    """1-based (line, column) of each node: where its key starts, and where its value starts."""

    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def of_key(self, loc: Loc) -> tuple[int, int]:
        return self.keys.get(loc) or self.of_value(loc)

    def of_value(self, loc: Loc) -> tuple[int, int]:
        while loc:
            if loc in self.values:
                return self.values[loc]
            if loc in self.keys:
                return self.keys[loc]
            loc = loc[:-1]
        return self.values.get((), (1, 1))


@dataclass
class Document:
    path: Path
    data: Any
    positions: Positions

    def where(self, loc: Loc, *, key: bool = False) -> str:
        line, col = self.positions.of_key(loc) if key else self.positions.of_value(loc)
        return f"{self.path}:{line}:{col}"


def _scalar(value: Any) -> Any:
    # ruamel subclasses (ScalarInt, ScalarFloat, ScalarString, ...) become their plain base types.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        # An unquoted date is text to us (labels, serials); keep what was written, in ISO form.
        return value.isoformat()
    return value


def _convert(node: Any, loc: Loc, pos: Positions, doc_path: Path) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

    if len(pos.values) > MAX_NODES:
        raise DrillUserError(
            f"{doc_path}:1:1: the YAML holds over {MAX_NODES} values; a playbook has a few hundred, "
            "check that this is the right file"
        )
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            kline, kcol = node.lc.key(key)
            if not isinstance(key, str):
                raise DrillUserError(
                    f"{doc_path}:{kline + 1}:{kcol + 1}: key {key!r} is not text; "
                    "write keys as plain words (quote them if they look like numbers)"
                )
            vline, vcol = node.lc.value(key)
            child = (*loc, key)
            pos.keys[child] = (kline + 1, kcol + 1)
            pos.values[child] = (vline + 1, vcol + 1)
            out[key] = _convert(node[key], child, pos, doc_path)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            child = (*loc, index)
            pos.keys[child] = pos.values[child] = (line + 1, col + 1)
            items.append(_convert(item, child, pos, doc_path))
        return items
    if isinstance(node, TaggedScalar):  # `!!str 1234`: the only tag the checks let through unbuilt
        return str(node.value)
    return _scalar(node)


# Tags a playbook may spell out: YAML's own core types, which change nothing about what is built. Every other
# tag (`!!python/object/apply:...`, `!!binary`, `!custom`) asks the loader to build something a playbook
# never needs, and crashed it with a TypeError.
_CORE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)


def _refuse_tags_and_aliases(yaml: Any, text: str, path: Path) -> None:
    """Walk the parser's events (linear in the file's size) and refuse anchors, aliases and foreign tags.

    This runs before anything is composed: an alias is expanded only when the document is built, so a small
    file of nested or wide aliases ("billion laughs") is refused here before it can cost time or memory.
    """
    from ruamel.yaml.events import AliasEvent, NodeEvent

    for event in yaml.parse(text):
        if not isinstance(event, NodeEvent):
            continue
        mark = event.start_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}"
        if isinstance(event, AliasEvent):
            raise DrillUserError(
                f"{where}: YAML alias `*{event.anchor}` refused: aliases let a few lines expand into "
                "millions of values; write the value out again where it is needed"
            )
        if event.anchor is not None:
            raise DrillUserError(
                f"{where}: YAML anchor `&{event.anchor}` refused: a playbook uses no anchors or aliases; "
                "remove it and write repeated values out in full"
            )
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _CORE_TAGS:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!", 1)[:80]
            shown = "".join(c if c.isprintable() and c != "`" else "?" for c in shown)
            raise DrillUserError(
                f"{where}: YAML tag `{shown}` refused: a playbook holds plain text, numbers, true/false, "
                "lists and mappings only; remove the tag (quote the value if it must stay text)"
            )


def load_yaml(path: Path) -> Document:
    """Parse one YAML document; any problem becomes a DrillUserError at file:line:col."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DrillUserError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise DrillUserError(f"{path}: is a folder, not a playbook file; name the .yaml file") from None
    except OSError as exc:
        raise DrillUserError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from None
    if len(raw) > MAX_BYTES:
        raise DrillUserError(f"{path}:1:1: file is over {MAX_BYTES} bytes; a playbook is a few kilobytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DrillUserError(f"{path}:{line}:1: not UTF-8 text; save the playbook as UTF-8") from None

    cached = _PARSED.get(text)
    if cached is not None:  # the same text parses the same: positions and data copied, the path is this one
        data, values, keys = cached
        pos = Positions()
        pos.values, pos.keys = dict(values), dict(keys)
        return Document(path=path, data=copy.deepcopy(data), positions=pos)
    try:
        _refuse_tags_and_aliases(YAML(typ="rt"), text, path)
        node = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if "duplicate key" in what:
            what = what.split(" with value", 1)[0]  # ruamel quotes both values; they could be secrets
            hint = "each key may appear once per mapping; remove or merge the repeat"
        else:
            hint = "fix the YAML syntax (indent with spaces, quote values containing ': ' or '#')"
        raise DrillUserError(f"{path}:{line}:{col}: invalid YAML: {what}; {hint}") from None
    except YAMLError as exc:
        msg = " ".join(str(exc).split())
        raise DrillUserError(f"{path}:1:1: invalid YAML: {msg}; fix the YAML syntax") from None
    except RecursionError:
        raise DrillUserError(f"{path}:1:1: YAML nests too deeply; a playbook is a few levels deep") from None

    pos = Positions()
    pos.values[()] = (1, 1)
    try:
        data = _convert(node, (), pos, path)
    except RecursionError:
        raise DrillUserError(f"{path}:1:1: YAML nests too deeply; a playbook is a few levels deep") from None
    if len(_PARSED) >= PARSED_KEPT:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[text] = (copy.deepcopy(data), dict(pos.values), dict(pos.keys))
    return Document(path=path, data=data, positions=pos)


def resolve_loc(data: Any, loc: Sequence[Any]) -> Loc:
    """Map a pydantic error location onto the document's path, dropping union tags pydantic inserts."""
    out: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        if in_dict or (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict | list):
            # A union tag ("certificate", "cloud-custom") or a missing key: keep walking with the rest.
            continue
        else:
            break
    return tuple(out)
