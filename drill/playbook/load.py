"""Loading a playbook: YAML -> secret scan -> `${DRILL_*}` expansion -> secret scan again -> pydantic -> where
tokens may go -> file checks.

Every problem comes out as `file:line:col: what is wrong; how to fix`. Kept apart from the models so they read
as the playbook's documentation and this module as its gatekeeper. The secret scan runs on the raw document
before validation, so an inline secret is refused even under a key the model does not know, and no error
message ever repeats a secret's value.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from drill.errors import DrillUserError
from drill.playbook.endpoints import Pairing, untrusted_pairings
from drill.playbook.maester import import_maester
from drill.playbook.model import Playbook
from drill.playbook.yamlpos import Document, Loc, load_yaml, resolve_loc
from drill.secrets import find_secret_patterns, is_secret_key, redact_text

__all__ = [
    "PlaybookError",
    "custom_cloud_pairings",
    "import_maester",
    "load_playbook",
    "playbook_json_schema",
]


class PlaybookError(DrillUserError):
    """A playbook that cannot be used. The message is the first problem; `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        first = problems[0]
        if len(problems) > 1:
            first += f" (and {len(problems) - 1} more; `drill playbook check` lists them all)"
        super().__init__(first)
        self.problems = problems


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


# --- inline secrets -----------------------------------------------------------------------------------------
def _secret_hint(key: str) -> str:
    low = key.lower()
    if "secret" in low:
        return (
            "never write a client secret in a playbook: put it in an environment variable and write "
            "`kind: client-secret-env` with `client_secret_env: VAR_NAME` under observer"
        )
    if "pass" in low or "pwd" in low:
        return (
            "put it in an environment variable and name the variable instead "
            "(e.g. `certificate_password_env: VAR_NAME`)"
        )
    if low.endswith("pin") or "pin_" in low:
        return "the operator types the key's PIN at the prompt during the drill; never store it"
    return "the drill obtains tokens, codes and cookies itself at run time; remove it"


def _scan_secrets(doc: Document) -> list[tuple[tuple[int, int], str]]:
    found: list[tuple[tuple[int, int], str]] = []

    def walk(node: Any, loc: Loc) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                child = (*loc, key)
                if is_secret_key(key):
                    where = doc.positions.of_key(child)
                    found.append(
                        (where, f"{_dotted(child)}: inline secrets are refused; {_secret_hint(key)}")
                    )
                else:
                    walk(value, child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*loc, index))
        elif isinstance(node, str):
            kinds = find_secret_patterns(node)
            if kinds:
                where = doc.positions.of_value(loc)
                found.append(
                    (
                        where,
                        f"{_dotted(loc)}: this value looks like a {kinds[0]}, and secrets never go in a "
                        "playbook; remove it (client secrets: `client_secret_env: VAR_NAME`; tokens and "
                        "PINs: never stored)",
                    )
                )

    walk(doc.data, ())
    return found


# --- ${VAR} expansion, only inside tenant.cloud.custom ------------------------------------------------------
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Only these names are read: a playbook is shared and reviewed as text, and without a fence
# `${AZURE_CLIENT_SECRET}` or `${HOME}` would copy any variable of the operator's shell into a URL, the
# evidence and `drill playbook check`'s output.
EXPANDABLE = re.compile(r"DRILL_[A-Z0-9_]+")
_EMPTY_MEANS_UNSET = {"ca_bundle", "logs_audience", "graph_audience"}


def _secret_env_names(doc: Document) -> set[str]:
    """Variables the playbook itself names as holding a secret (the observer's client secret, a password)."""
    observer = doc.data.get("observer")
    if not isinstance(observer, dict):
        return set()
    return {
        str(observer[key])
        for key in observer
        if isinstance(key, str) and key.endswith("_env") and isinstance(observer[key], str)
    }


def _expand_custom_cloud(
    doc: Document, env: Mapping[str, str]
) -> tuple[list[tuple[tuple[int, int], str]], dict[Loc, str]]:
    """Expand `${DRILL_*}` in tenant.cloud.custom; return the problems and each expanded value by location."""
    problems: list[tuple[tuple[int, int], str]] = []
    expanded_at: dict[Loc, str] = {}
    tenant = doc.data.get("tenant")
    cloud = tenant.get("cloud") if isinstance(tenant, dict) else None
    custom = cloud.get("custom") if isinstance(cloud, dict) else None
    if not isinstance(cloud, dict) or not isinstance(custom, dict):
        return problems, expanded_at
    secret_envs = _secret_env_names(doc)

    def refuse(name: str) -> str | None:
        if not EXPANDABLE.fullmatch(name):
            return (
                f"${{{name}}} cannot be expanded: only DRILL_* variables are read from the environment, so a "
                f"playbook cannot copy any other variable into a URL; export it as DRILL_{name.upper()} and "
                f"write ${{DRILL_{name.upper()}}}, or write the value itself"
            )
        if is_secret_key(name) or name in secret_envs:
            return (
                f"${{{name}}} names a secret, and secrets never go in a playbook's endpoints (they would be "
                "printed and recorded); remove it"
            )
        return None

    def expand(text: str, loc: Loc, *, key: bool = False) -> str:
        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            where = doc.positions.of_key(loc) if key else doc.positions.of_value(loc)
            refusal = refuse(name)
            if refusal is not None:
                problems.append((where, f"{_dotted(loc)}: {refusal}"))
                return match.group(0)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(
                (
                    where,
                    f"{_dotted(loc)}: environment variable {name} is not set; "
                    f"export it or write ${{{name}:-default}}",
                )
            )
            return match.group(0)

        out = _VAR.sub(one, text)
        if out != text:
            expanded_at[loc] = out
        return out

    def walk(node: Any, loc: Loc) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                child = (*loc, k)
                new_key = expand(k, child, key=True)
                if new_key != k:
                    doc.positions.keys[(*loc, new_key)] = doc.positions.of_key(child)
                    doc.positions.values[(*loc, new_key)] = doc.positions.of_value(child)
                out[new_key] = walk(v, child)
            return out
        if isinstance(node, list):
            return [walk(item, (*loc, i)) for i, item in enumerate(node)]
        if isinstance(node, str):
            return expand(node, loc)
        return node

    base: Loc = ("tenant", "cloud", "custom")
    expanded = walk(custom, base)
    for key in _EMPTY_MEANS_UNSET:
        if expanded.get(key) == "" and custom.get(key) != "":
            del expanded[key]
    cloud["custom"] = expanded
    return problems, expanded_at


def _scan_expanded(doc: Document, expanded_at: Mapping[Loc, str]) -> list[tuple[tuple[int, int], str]]:
    """The secret scan once more, on what expansion brought in from the environment.

    The first scan saw only `${NAME}`; a variable's value can still be a token or a secret this process
    holds (registered for redaction). The message names the variable's place, never its value.
    """
    problems = _scan_secrets(doc)
    flagged = {where for where, _ in problems}
    for loc, value in expanded_at.items():
        where = doc.positions.of_value(loc)
        if where not in flagged and redact_text(value) != value:
            problems.append(
                (
                    where,
                    f"{_dotted(loc)}: the environment variable expanded here holds a secret, and secrets "
                    "never go in a playbook; point the variable at the endpoint's URL instead",
                )
            )
    return problems


# --- pydantic errors -> operator messages -------------------------------------------------------------------
_HINTS = {
    "uuid_parsing": "write it as 8-4-4-4-12 hex digits (copy it from the Entra admin center)",
    "uuid_type": "write it as 8-4-4-4-12 hex digits (copy it from the Entra admin center)",
    "string_type": "write text (quote it if YAML reads it as a number, date or true/false)",
    "int_type": "write a whole number without quotes",
    "int_parsing": "write a whole number without quotes",
    "int_from_float": "write a whole number without quotes",
    "float_type": "write a number without quotes",
    "float_parsing": "write a number without quotes",
    "bool_type": "write true or false (YAML 1.2 reads yes/no/on/off as text)",
    "bool_parsing": "write true or false (YAML 1.2 reads yes/no/on/off as text)",
    "list_type": "write a list: one `- item` per line, or [a, b]",
    "dict_type": "write a mapping: `key: value` lines indented under it",
    "model_type": "write a mapping: `key: value` lines indented under it",
    "model_attributes_type": "write a mapping: `key: value` lines indented under it",
    "literal_error": "use one of the values listed",
    "enum": "use one of the values listed",
    "too_short": "add the missing item(s)",
    "string_too_short": "write a value; it must not be empty",
    "string_too_long": "shorten it",
    "path_type": "write a file path as text",
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _known_keys(loc: tuple[Any, ...]) -> set[str]:
    """Field names valid at a location (for 'did you mean'), following unions loosely."""
    candidates: list[type[BaseModel]] = [Playbook]
    for part in loc:
        if not isinstance(part, str):
            continue
        nxt: list[type[BaseModel]] = []
        for model in candidates:
            if part in model.model_fields:
                nxt.extend(_models_in(model.model_fields[part].annotation))
        if nxt:
            candidates = nxt
        else:  # a union tag such as "certificate": keep the members whose `kind` allows it
            tagged = [
                m
                for m in candidates
                if part in typing.get_args(getattr(m.model_fields.get("kind"), "annotation", None))
            ]
            candidates = tagged or candidates
    return {name for model in candidates for name in model.model_fields}


def _describe(doc: Document, err: Mapping[str, Any]) -> tuple[tuple[int, int], str]:
    raw_loc = tuple(err["loc"])
    loc = resolve_loc(doc.data, raw_loc)
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "missing":
        field = raw_loc[-1] if raw_loc else "?"
        where = doc.positions.of_key(loc) if loc else (1, 1)
        return (
            where,
            f"{_dotted(loc)}: missing required key `{field}`; add it "
            "(`drill init DIR` writes a commented example)",
        )
    if kind == "extra_forbidden":
        name = str(raw_loc[-1])
        close = difflib.get_close_matches(name, sorted(_known_keys(raw_loc[:-1])), n=1)
        fix = f"did you mean `{close[0]}`?" if close else "remove it or check its spelling"
        return doc.positions.of_key(loc), f"{_dotted(loc)}: unknown key `{name}`; {fix}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag_key = str((err.get("ctx") or {}).get("discriminator", "kind")).strip("'")
        node = _node_at(doc.data, loc)
        if kind == "union_tag_not_found" or not isinstance(node, dict) or tag_key not in node:
            allowed = (err.get("ctx") or {}).get("expected_tags", "")
            return doc.positions.of_key(
                loc
            ), f"{_dotted(loc)}: missing `{tag_key}`; add `{tag_key}:` with one of {allowed}"
        loc = (*loc, tag_key)
        expected = (err.get("ctx") or {}).get("expected_tags", "")
        msg = f"`{node[tag_key]}` is not a known {tag_key}; use one of {expected}"
        return doc.positions.of_value(loc), f"{_dotted(loc)}: {msg}"
    if msg.startswith(("Value error, ", "Assertion failed, ")):
        msg = msg.split(", ", 1)[1]
        return doc.positions.of_value(loc), f"{_dotted(loc)}: {msg}"
    value = err.get("input")
    if kind.startswith("uuid") and isinstance(value, str) and len(value) <= 60:
        msg = f"{value!r} is not a UUID"
    hint = _HINTS.get(kind)
    if hint is None and kind.startswith(("greater_than", "less_than")):
        hint = "change the number"
    return doc.positions.of_value(
        loc
    ), f"{_dotted(loc)}: {msg}; {hint or 'see `drill playbook schema` for the shape'}"


def _node_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def _duplicate_accounts(doc: Document) -> list[tuple[tuple[int, int], str]]:
    """Point at the repeated account itself (the model's own check can only name the whole list)."""
    problems: list[tuple[tuple[int, int], str]] = []
    accounts = doc.data.get("accounts")
    if not isinstance(accounts, list):
        return problems
    for attr in ("name", "upn", "object_id"):
        seen: dict[str, int] = {}
        for index, account in enumerate(accounts):
            value = account.get(attr) if isinstance(account, dict) else None
            if not isinstance(value, str):
                continue
            if value.strip().lower() in seen:
                loc: Loc = ("accounts", index, attr)
                first = seen[value.strip().lower()]
                problems.append(
                    (
                        doc.positions.of_value(loc),
                        f"{_dotted(loc)}: same {attr} as accounts[{first}]; each account must be distinct",
                    )
                )
            else:
                seen[value.strip().lower()] = index
    return problems


# --- where tokens may go ------------------------------------------------------------------------------------
def custom_cloud_pairings(pb: Playbook) -> list[Pairing]:
    """Untrusted pairings of a playbook's custom cloud, whatever `allow_untrusted_endpoints` says."""
    spec = pb.tenant.cloud
    if isinstance(spec, str):
        return []
    custom = spec.custom
    return untrusted_pairings(
        authority_host=custom.authority_host,
        graph_endpoint=custom.graph_endpoint,
        graph_audience=custom.graph_audience,
        logs_endpoint=custom.logs_endpoint,
        logs_audience=custom.logs_audience,
        webauthn_related_origins=custom.webauthn_related_origins,
        scopes=pb.drill_app.scopes,
        arm_endpoint=custom.arm_endpoint,
        arm_audience=custom.arm_audience,
    )


def _check_endpoints(pb: Playbook, doc: Document) -> list[tuple[tuple[int, int], str]]:
    spec = pb.tenant.cloud
    if isinstance(spec, str):
        return []
    allowed = spec.custom.allow_untrusted_endpoints
    return [
        (doc.positions.of_value(p.field), f"{_dotted(p.field)}: {p.message}")
        for p in custom_cloud_pairings(pb)
        if not (allowed and p.overridable)
    ]


# --- files the playbook names -------------------------------------------------------------------------------
def _check_files(pb: Playbook, doc: Document) -> list[tuple[tuple[int, int], str]]:
    problems: list[tuple[tuple[int, int], str]] = []

    def need(path: Path | None, loc: Loc, what: str) -> None:
        if path is None:
            return
        full = pb.resolve(path)
        if not full.is_file():
            problems.append(
                (
                    doc.positions.of_value(loc),
                    f"{_dotted(loc)}: {what} {full} not found; paths are relative to the playbook's folder",
                )
            )

    need(pb.log_analytics.alert_query_file, ("log_analytics", "alert_query_file"), "alert query file")
    if (
        pb.alert_query_path.is_file()
        and not pb.alert_query_path.read_text(encoding="utf-8", errors="replace").strip()
    ):
        problems.append(
            (
                doc.positions.of_value(("log_analytics", "alert_query_file")),
                "log_analytics.alert_query_file: the file is empty; paste the alert rule's KQL into it",
            )
        )
    observer = pb.observer
    if observer.kind == "certificate":
        need(observer.certificate_path, ("observer", "certificate_path"), "certificate")
    if not isinstance(pb.tenant.cloud, str):
        need(pb.tenant.cloud.custom.ca_bundle, ("tenant", "cloud", "custom", "ca_bundle"), "CA bundle")
    return problems


def _fail(doc: Document, problems: list[tuple[tuple[int, int], str]]) -> typing.NoReturn:
    problems.sort(key=lambda p: p[0])
    raise PlaybookError([f"{doc.path}:{line}:{col}: {text}" for (line, col), text in problems])


def load_playbook(path: Path | str, env: Mapping[str, str] | None = None) -> Playbook:
    """Load and validate a playbook; raise PlaybookError (a DrillUserError, exit 2) at the first problem.

    env: where `${VAR}` in tenant.cloud.custom comes from (default: os.environ).
    """
    doc = load_yaml(Path(path))
    if doc.data is None:
        raise DrillUserError(
            f"{doc.path}:1:1: the playbook is empty; start from the commented example `drill init DIR` writes"
        )
    if not isinstance(doc.data, dict):
        raise DrillUserError(
            f"{doc.path}:1:1: a playbook is a mapping (`tenant:`, `accounts:`, ...), not a list or text; "
            "start from the commented example `drill init DIR` writes"
        )
    problems = _scan_secrets(doc)
    if problems:
        _fail(doc, problems)
    problems, expanded_at = _expand_custom_cloud(doc, os.environ if env is None else env)
    problems += _duplicate_accounts(doc)
    if problems:
        _fail(doc, problems)
    problems = _scan_expanded(doc, expanded_at)
    if problems:
        _fail(doc, problems)
    try:
        pb = Playbook.model_validate(doc.data)
    except ValidationError as exc:
        _fail(doc, [_describe(doc, e) for e in exc.errors(include_url=False)])
    pb._source = doc.path.absolute()
    problems = _check_endpoints(pb, doc) + _check_files(pb, doc)
    if problems:
        _fail(doc, problems)
    return pb


def playbook_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a playbook, for editor completion (e.g. yaml-language-server)."""
    schema = Playbook.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://breakglass-drill.invalid/playbook.schema.json",
        **schema,
        "title": "breakglass-drill playbook",
    }
