"""The OData query options Graph honours on the routes the simulator serves: $filter, $select, $top, $orderby,
$skip/$skiptoken paging, and a 400 for anything else.

A simulator that silently ignored an option it does not understand would answer a wrong question with a
plausible page; the drill would then "pass" against a tenant where the same query fails. So each route
declares what it supports (property by property, operator by operator) and everything else is refused with
the error code the owning Graph workload uses.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from drill.sim.graph.http import GraphError, GraphRequest, Obj

_KNOWN = {
    "filter",
    "select",
    "top",
    "orderby",
    "skip",
    "skiptoken",
    "expand",
    "count",
    "search",
    "format",
    "apply",
    "compute",
    "levels",
    "deltatoken",
}


@cache
def graph_types() -> dict[str, Any]:
    """Property names per Graph type, extracted from the v1.0 CSDL (drill/sim/graph_types.json)."""
    text = resources.files("drill.sim.graph").joinpath("graph_types.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class QuerySpec:
    """What one route accepts; `flavour` picks the workload's error wording (directory/outlook/pim/policy)."""

    type_name: str
    entity: str  # as named in directory errors ("User", "unifiedRoleAssignmentScheduleInstance")
    filterable: Mapping[str, frozenset[str]] = field(default_factory=dict)  # property -> operators
    orderable: frozenset[str] = frozenset()
    page_size: int = 100
    max_top: int = 999
    paging: str = "skiptoken"  # or "skip" (Outlook)
    flavour: str = "directory"
    default_select: tuple[str, ...] | None = None  # None: every property of the type
    always: tuple[str, ...] = ()  # returned even when not selected (Outlook's id and etag)
    default_order: tuple[str, bool] | None = None  # (property, descending)
    supports_select: bool = True
    raw: bool = False  # items are already shaped (directoryObject collections mixing users and groups)
    # raw collections that honour $select: a property of any of these types may be selected; each item keeps
    # its "@odata.type" and the selected properties it has (null otherwise)
    select_types: tuple[str, ...] = ()


def ops(*names: str) -> frozenset[str]:
    return frozenset(names)


# -- $filter --
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?)"
    r"|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w/]*)|(?P<punct>[(),]))"
)
_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith"}


@dataclass
class Cmp:
    prop: str
    op: str
    value: Any


@dataclass
class BoolOp:
    op: str  # and | or
    left: Any
    right: Any


@dataclass
class Not:
    expr: Any


class _Parser:
    def __init__(self, text: str, err: Callable[[str], GraphError]) -> None:
        self.err = err
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise err(f"Syntax error at position {pos} in '{text}'.")
            pos = m.end()
            kind = m.lastgroup or ""
            raw = m.group(kind)
            if kind == "str":
                self.tokens.append(("lit", raw[1:-1].replace("''", "'")))
            elif kind == "dt":
                self.tokens.append(("lit", datetime.fromisoformat(raw.replace("Z", "+00:00"))))
            elif kind == "guid":
                self.tokens.append(("lit", raw.lower()))
            elif kind == "num":
                self.tokens.append(("lit", float(raw) if "." in raw else int(raw)))
            elif kind == "name" and raw in ("true", "false", "null"):
                self.tokens.append(("lit", {"true": True, "false": False, "null": None}[raw]))
            else:
                self.tokens.append((kind, raw))
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value and str(tok[1]).lower() != value):
            raise self.err(
                f"Syntax error: expected {value or kind}, found {tok[1] if tok else 'end of clause'}."
            )
        self.i += 1
        return tok

    def parse(self) -> Any:
        expr = self.or_expr()
        if self.peek() is not None:
            raise self.err(f"Syntax error: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return expr

    def or_expr(self) -> Any:
        left = self.and_expr()
        while (t := self.peek()) and t[0] == "name" and t[1].lower() == "or":
            self.i += 1
            left = BoolOp("or", left, self.and_expr())
        return left

    def and_expr(self) -> Any:
        left = self.unary()
        while (t := self.peek()) and t[0] == "name" and t[1].lower() == "and":
            self.i += 1
            left = BoolOp("and", left, self.unary())
        return left

    def unary(self) -> Any:
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1].lower() == "not":
            self.i += 1
            return Not(self.unary())
        if tok and tok == ("punct", "("):
            self.i += 1
            inner = self.or_expr()
            self.take("punct", ")")
            return inner
        name = self.take("name")[1]
        if name.lower() in _FUNCS:
            self.take("punct", "(")
            prop = self.take("name")[1]
            self.take("punct", ",")
            value = self.take("lit")[1]
            self.take("punct", ")")
            return Cmp(prop, name.lower(), value)
        op = str(self.take("name")[1]).lower()
        if op == "in":
            self.take("punct", "(")
            values = [self.take("lit")[1]]
            while self.peek() == ("punct", ","):
                self.i += 1
                values.append(self.take("lit")[1])
            self.take("punct", ")")
            return Cmp(name, "in", values)
        if op not in _CMP:
            raise self.err(f"Syntax error: '{op}' is not a comparison operator.")
        return Cmp(name, op, self.take("lit")[1])


def _props(expr: Any) -> list[Cmp]:
    if isinstance(expr, Cmp):
        return [expr]
    if isinstance(expr, Not):
        return _props(expr.expr)
    return [*_props(expr.left), *_props(expr.right)]


def _get(obj: Mapping[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("/"):
        cur = cur.get(part) if isinstance(cur, Mapping) else None
    return cur


def _norm(value: Any, like: Any) -> Any:
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, str):
        return value.lower()
    return value


def _match(expr: Any, obj: Mapping[str, Any]) -> bool:
    if isinstance(expr, BoolOp):
        if expr.op == "and":
            return _match(expr.left, obj) and _match(expr.right, obj)
        return _match(expr.left, obj) or _match(expr.right, obj)
    if isinstance(expr, Not):
        return not _match(expr.expr, obj)
    raw = _get(obj, expr.prop)
    want = [_norm(v, v) for v in expr.value] if expr.op == "in" else _norm(expr.value, expr.value)
    have = _norm(raw, expr.value[0] if expr.op == "in" and expr.value else expr.value)
    if expr.op == "in":
        return have in want
    if expr.op == "eq":
        return bool(have == want)
    if expr.op == "ne":
        return bool(have != want)
    if expr.op in ("startswith", "endswith"):
        return isinstance(have, str) and getattr(have, expr.op)(str(want))
    if have is None or want is None:
        return False
    try:
        return bool({"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[expr.op])
    except TypeError:
        return False


# -- the options as a whole --
@dataclass
class Query:
    filter: Any = None
    filter_props: list[str] = field(default_factory=list)
    select: list[str] | None = None
    top: int | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    offset: int = 0


def _bad(spec: QuerySpec, message: str) -> GraphError:
    code = {"directory": "Request_BadRequest", "outlook": "ErrorInvalidUrlQuery"}.get(
        spec.flavour, "BadRequest"
    )
    return GraphError(400, code, message)


def parse_query(req: GraphRequest, spec: QuerySpec, *, collection: bool = True) -> Query:
    q = Query()
    for key, value in req.query.items():
        name = key[1:] if key.startswith("$") else key
        if name.lower() not in _KNOWN:
            if key.startswith("$"):
                raise GraphError(400, "BadRequest", f"Query option '{key}' is not supported.")
            continue  # Graph ignores parameters that are not query options
        name = name.lower()
        if name == "select" and spec.supports_select:
            q.select = _parse_select(spec, value)
        elif name == "filter" and collection and spec.filterable:
            q.filter = _parse_filter(spec, value)
            q.filter_props = [c.prop for c in _props(q.filter)]
        elif name == "top" and collection:
            q.top = _parse_top(spec, value)
        elif name == "orderby" and collection and spec.orderable:
            q.orderby = _parse_orderby(spec, value)
        elif name == "skiptoken" and collection and spec.paging == "skiptoken":
            q.offset = _decode_skiptoken(spec, value)
        elif name == "skip" and collection and spec.paging == "skip":
            if not value.isdigit():
                raise _bad(spec, f"Invalid $skip value '{value}'.")
            q.offset = int(value)
        elif name == "skip" and spec.flavour == "directory":
            raise GraphError(400, "Request_BadRequest", "'$skip' is not supported by the service.")
        else:
            raise GraphError(
                400,
                "BadRequest",
                f"Query option '${name}' is not supported on this resource by the simulated tenant.",
            )
    if q.orderby and q.filter is not None and spec.flavour == "outlook":
        # Exchange: sorted properties must also be filtered on, first and in the same order.
        wanted = [p for p, _ in q.orderby]
        if q.filter_props[: len(wanted)] != wanted:
            raise GraphError(
                400, "InefficientFilter", "The restriction or sort order is too complex for this operation."
            )
    return q


def _parse_select(spec: QuerySpec, value: str) -> list[str]:
    types = [graph_types()[t] for t in spec.select_types or (spec.type_name,)]
    known = {
        "properties": {p: kind for t in types for p, kind in t["properties"].items()},
        "navigation": [n for t in types for n in t["navigation"]],
    }
    out: list[str] = []
    for raw in (v.strip() for v in value.split(",")):
        if not raw:
            continue
        match = next((p for p in known["properties"] if p.lower() == raw.lower()), None)
        if match is None:
            msg = f"Could not find a property named '{raw}' on type 'microsoft.graph.{spec.type_name}'."
            if raw in known["navigation"]:
                msg = f"Navigation property '{raw}' cannot be used in $select; use $expand."
            code = {"directory": "Request_BadRequest", "outlook": "RequestBroker--ParseUri"}.get(spec.flavour)
            raise GraphError(400, code or "BadRequest", msg)
        out.append(match)
    return out


def _parse_filter(spec: QuerySpec, value: str) -> Any:
    expr = _Parser(value, lambda m: _bad(spec, f"Invalid filter clause: {m}")).parse()
    for cmp in _props(expr):
        allowed = spec.filterable.get(cmp.prop)
        if allowed is None or cmp.op not in allowed:
            if spec.flavour == "directory":
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Unsupported or invalid query filter clause specified for property '{cmp.prop}' "
                    f"of resource '{spec.entity}'.",
                )
            raise _bad(spec, f"Invalid filter clause: '{cmp.op}' on property '{cmp.prop}' is not supported.")
    return expr


def _parse_top(spec: QuerySpec, value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= spec.max_top:
        raise _bad(
            spec, f"Invalid page size specified: '{value}'. Must be between 1 and {spec.max_top} inclusive."
        )
    return int(value)


def _parse_orderby(spec: QuerySpec, value: str) -> list[tuple[str, bool]]:
    out = []
    for part in (p.strip() for p in value.split(",")):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise _bad(spec, f"Invalid $orderby clause '{part}'.")
        prop = next((p for p in spec.orderable if p.lower() == bits[0].lower()), None)
        if prop is None:
            code = "Request_UnsupportedQuery" if spec.flavour == "directory" else "BadRequest"
            raise GraphError(
                400, code, f"OrderBy not supported for property '{bits[0]}' of resource '{spec.entity}'."
            )
        out.append((prop, len(bits) == 2 and bits[1].lower() == "desc"))
    return out


def _decode_skiptoken(spec: QuerySpec, value: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad(spec, "The skip token is invalid or has expired.") from exc


def select_suffix(q: Query) -> str:
    return f"({','.join(q.select)})" if q.select else ""


def project(spec: QuerySpec, obj: Mapping[str, Any], q: Query) -> Obj:
    if spec.raw:
        # a raw item may carry its whole stored object under "_full", for $select beyond the default view
        full = obj.get("_full") or obj
        shown = {k: v for k, v in obj.items() if k != "_full"}
        if not q.select:
            return shown
        kept = {k: v for k, v in shown.items() if k.startswith("@odata.")}
        return {**kept, **{n: full.get(n) for n in q.select}}
    props: dict[str, str] = graph_types()[spec.type_name]["properties"]
    names: Iterable[str] = q.select or spec.default_select or list(props)
    out: Obj = {k: v for k, v in obj.items() if k.startswith("@odata.")}
    for name in [*spec.always, *names]:
        if name not in out:
            out[name] = obj.get(name, [] if props.get(name) == "collection" else None)
    return out


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.isoformat())
    return (1, value.lower() if isinstance(value, str) else value)


def collection(req: GraphRequest, spec: QuerySpec, items: Sequence[Mapping[str, Any]], fragment: str) -> Obj:
    """Filter, sort, page and project `items`; `fragment` is the context after `$metadata#`, sans select."""
    q = parse_query(req, spec)
    rows = [i for i in items if q.filter is None or _match(q.filter, i)]
    order = q.orderby or ([spec.default_order] if spec.default_order else [])
    for prop, desc in reversed(order):
        rows.sort(key=lambda r, p=prop: _sort_key(_get(r, p)), reverse=desc)  # type: ignore[misc]
    size = q.top or spec.page_size
    page = rows[q.offset : q.offset + size]
    body: Obj = {"@odata.context": f"{req.base}/$metadata#{fragment}{select_suffix(q)}"}
    if q.offset + size < len(rows):
        body["@odata.nextLink"] = _next_link(req, spec, q.offset + size)
    body["value"] = [project(spec, r, q) for r in page]
    return body


def _next_link(req: GraphRequest, spec: QuerySpec, offset: int) -> str:
    kept = {k: v for k, v in req.query.items() if k.lstrip("$").lower() not in ("skip", "skiptoken")}
    if spec.paging == "skip":
        kept["$skip"] = str(offset)
    else:
        token = base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")
        kept["$skiptoken"] = token
    return f"{req.base}{req.path}?{urlencode(kept, safe='$/:,')}"
