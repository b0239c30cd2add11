"""Malformed playbooks: each one must give `file:line:col: what; how to fix` and exit 2 through the real CLI.

Line numbers refer to BASE in playbook_support.py (edits noted per case).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cli_support import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playbook_support import BASE, BASE_LINES, edit, write_playbook

CUSTOM_HTTP = (
    "  cloud:\n"
    "    custom:\n"
    "      authority_host: https://login.sim.test:8443\n"
    "      graph_endpoint: http://graph.sim.test\n"
    "      logs_endpoint: https://logs.sim.test"
)
CUSTOM_EXTRA = CUSTOM_HTTP.replace("http://graph", "https://graph") + "\n      colour: blue"
CUSTOM_UNSET = CUSTOM_HTTP.replace(
    "http://graph.sim.test", "https://graph.sim.test:${DRILL_TEST_SURELY_UNSET_1}"
)
CUSTOM_BAD_ORIGIN = (
    CUSTOM_HTTP.replace("http://graph", "https://graph")
    + "\n      webauthn_related_origins:\n        fido.sim.test: [https://login.sim.test/path]"
)
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
CLIENT_SECRET = "abc8Q~abcdefghijklmnopqrstuvwxyz01234567"

# (id, playbook text, "line:col", fragment the message must contain, text that must NOT appear)
CASES: list[tuple[str, str | bytes, str, str, str | None]] = [
    (
        "bad-tenant-uuid",
        edit(sub={2: "  id: not-a-uuid"}),
        "2:7",
        "tenant.id: 'not-a-uuid' is not a UUID",
        None,
    ),
    ("unknown-top-key", edit(ins={42: "colour: blue"}), "43:1", "unknown key `colour`", None),
    (
        "misspelt-key",
        edit(sub={42: "  revoke_sesions: true"}),
        "42:3",
        "did you mean `revoke_sessions`?",
        None,
    ),
    ("missing-tenant-id", edit(drop={2}), "1:1", "tenant: missing required key `id`", None),
    ("missing-accounts", edit(drop=set(range(5, 24))), "1:1", "missing required key `accounts`", None),
    ("object-id-number", edit(sub={17: "    object_id: 1234"}), "17:16", "accounts[1].object_id", None),
    (
        "aaguid-item-bad",
        edit(sub={10: "      aaguids: [ee882879-721c-4913-9775-3dfcce97072a, nope]"}),
        "10:55",
        "accounts[0].key.aaguids[1]: 'nope' is not a UUID",
        None,
    ),
    ("aaguids-empty", edit(sub={10: "      aaguids: []"}), "10:16", "accounts[0].key.aaguids", None),
    (
        "pin-guard-too-low",
        edit(ins={14: "    pin_retry_guard: 1"}),
        "15:22",
        "greater than or equal to 2",
        None,
    ),
    ("pin-guard-quoted", edit(ins={14: '    pin_retry_guard: "3"'}), "15:22", "write a whole number", None),
    ("headless-yes", edit(sub={40: "  headless: yes"}), "40:13", "write true or false", None),
    ("cycle-days-word", edit(sub={38: "  cycle_days: ninety"}), "38:15", "schedule.cycle_days", None),
    ("cycle-days-zero", edit(sub={38: "  cycle_days: 0"}), "38:15", "greater than or equal to 1", None),
    (
        "reminder-longer-than-cycle",
        edit(sub={38: "  cycle_days: 7"}),
        "38:3",
        "shorter than cycle_days (7)",
        None,
    ),
    ("cloud-bad-name", edit(sub={4: "  cloud: azure"}), "4:10", "'public', 'usgov' or 'china'", None),
    (
        "custom-cloud-http",
        edit(sub={4: CUSTOM_HTTP}),
        "7:23",
        "custom.graph_endpoint: must be an https:// URL",
        None,
    ),
    ("custom-cloud-extra", edit(sub={4: CUSTOM_EXTRA}), "9:7", "unknown key `colour`", None),
    (
        "custom-cloud-unset-env",
        edit(sub={4: CUSTOM_UNSET}),
        "7:23",
        "DRILL_TEST_SURELY_UNSET_1 is not set",
        None,
    ),
    ("custom-cloud-origin-path", edit(sub={4: CUSTOM_BAD_ORIGIN}), "10:25", "must be an https origin", None),
    (
        "observer-kind-unknown",
        edit(sub={27: "  kind: azure-clii"}),
        "27:9",
        "`azure-clii` is not a known kind",
        None,
    ),
    (
        "observer-kind-missing",
        edit(sub={27: "  client_id: 3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13"}),
        "26:1",
        "observer: missing `kind`",
        None,
    ),
    (
        "certificate-without-client-id",
        edit(sub={27: "  kind: certificate\n  certificate_path: cert.pem"}),
        "26:1",
        "observer: missing required key `client_id`",
        None,
    ),
    (
        "inline-client-secret",
        edit(ins={27: "  client_secret: hunter2hunter2"}),
        "28:3",
        "client_secret_env: VAR_NAME",
        "hunter2hunter2",
    ),
    (
        "inline-password",
        edit(ins={14: "    password: Passw0rd!xyz"}),
        "15:5",
        "inline secrets are refused",
        "Passw0rd",
    ),
    ("inline-pin", edit(ins={14: "    pin: 739146"}), "15:5", "types the key's PIN at the prompt", "739146"),
    ("inline-token-camel", edit(ins={25: "  refreshToken: abcdefgh"}), "26:3", "obtains tokens", "abcdefgh"),
    ("jwt-value", edit(sub={33: f"  subject_match: {JWT}"}), "33:18", "looks like a JWT", JWT[:20]),
    (
        "client-secret-value",
        edit(sub={11: f"      label: {CLIENT_SECRET}"}),
        "11:14",
        "looks like a client secret",
        "Q~",
    ),
    (
        "bearer-value",
        edit(sub={11: '      label: "Bearer abcd1234efgh5678"'}),
        "11:14",
        "bearer token",
        "abcd1234",
    ),
    (
        "yaml-unclosed-flow",
        edit(sub={10: "      aaguids: [ee88"}),
        "11:12",
        "invalid YAML: expected ',' or ']'",
        None,
    ),
    (
        "yaml-tab-indent",
        edit(sub={3: "\tprimary_domain: contoso.onmicrosoft.com"}),
        "3:1",
        "invalid YAML",
        None,
    ),
    (
        "yaml-duplicate-key",
        edit(ins={2: "  id: 0c5e1f4a-9d2b-4c71-8e36-5a8f0b7d2e91"}),
        "3:3",
        'duplicate key "id"',
        None,
    ),
    ("yaml-non-text-key", edit(ins={42: "1: one"}), "43:1", "key 1 is not text", None),
    ("top-level-list", "- tenant\n- accounts\n", "1:1", "a playbook is a mapping", None),
    ("empty-file", "", "1:1", "the playbook is empty", None),
    ("not-utf8", BASE.encode() + b"label: \xff\xfe\n", "43:1", "not UTF-8", None),
    (
        "mailbox-not-email",
        edit(sub={32: "  mailbox: not-an-email"}),
        "32:12",
        "not a valid mail address",
        None,
    ),
    ("mailbox-a-list", edit(sub={32: "  mailbox: [soc@contoso.com]"}), "32:12", "alert.mailbox", None),
    (
        "subject-bad-regex",
        edit(sub={33: '  subject_match: "(unclosed"'}),
        "33:18",
        "not a valid regular expression",
        None,
    ),
    (
        "scopes-openid",
        edit(ins={25: "  scopes: [openid, User.Read]"}),
        "26:11",
        "msal adds the OpenID scopes",
        None,
    ),
    (
        "redirect-http-remote",
        edit(ins={25: "  redirect_uri: http://example.com/cb"}),
        "26:17",
        "http://localhost",
        None,
    ),
    ("duplicate-account-name", edit(sub={15: "  - name: bg-1"}), "15:11", "same name as accounts[0]", None),
    (
        "duplicate-object-id",
        edit(sub={17: "    object_id: 11111111-2222-4333-8444-555555555501"}),
        "17:16",
        "same object_id",
        None,
    ),
    (
        "alert-query-missing",
        edit(sub={30: "  alert_query_file: nowhere.kql"}),
        "30:21",
        "nowhere.kql not found",
        None,
    ),
    (
        "policy-unnamed",
        edit(sub={36: "    - expect: applies"}),
        "36:7",
        "a policy needs an id or a display_name",
        None,
    ),
    ("policy-expect-bad", edit(ins={36: "      expect: maybe"}), "37:15", "'applies' or 'excluded'", None),
    (
        "ui-profile-not-text",
        edit(ins={40: "  ui_profile: {username: 5}"}),
        "41:26",
        "browser.ui_profile.username",
        None,
    ),
    (
        "sla-negative",
        edit(ins={42: "sla:\n  signin: -5"}),
        "44:11",
        "sla.signin: Input should be greater than 0",
        None,
    ),
    ("tenant-is-text", edit(sub={1: "tenant: contoso"}, drop={2, 3, 4}), "1:9", "write a mapping", None),
    (
        "announce-not-email",
        edit(ins={42: "announce:\n  to: nobody"}),
        "44:7",
        "announce.to: not a valid mail address",
        None,
    ),
    (
        "filing-kind-unknown",
        edit(ins={42: "evidence:\n  filing:\n    - kind: ftp"}),
        "45:13",
        "`ftp` is not a known kind",
        None,
    ),
    ("schema-version-2", edit(ins={42: "schema_version: 2"}), "43:17", "schema_version", None),
    (
        "upn-not-email",
        edit(sub={7: "    upn: bg-1"}),
        "7:10",
        "accounts[0].upn: not a valid mail address",
        None,
    ),
    (
        "account-name-spaces",
        edit(sub={6: "  - name: Break Glass 1"}),
        "6:11",
        "accounts[0].name: not a valid short name",
        None,
    ),
    (
        "env-name-invalid",
        edit(
            sub={
                27: "  kind: client-secret-env\n  client_id: 3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13\n"
                "  client_secret_env: 1BAD-NAME"
            }
        ),
        "29:22",
        "not a valid environment variable name",
        None,
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "fragment", "absent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_playbook_points_at_the_line(
    tmp_path: Path, text: str | bytes, where: str, fragment: str, absent: str | None
) -> None:
    path = write_playbook(tmp_path, text)
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2, (out, err)
    first = err.splitlines()[0]
    assert first.startswith(f"error: {path}:{where}: "), first
    assert fragment in first
    assert "; " in first.split(f"{where}: ", 1)[1], "message must say how to fix"
    assert "Traceback" not in err
    assert out == ""
    if absent is not None:
        assert absent not in err


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_several_problems_are_all_listed_in_file_order(tmp_path: Path) -> None:
    path = write_playbook(
        tmp_path, edit(sub={2: "  id: nope", 40: "  headless: maybe"}, ins={27: "  colour: red"})
    )
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert [line.split(": ")[1] for line in err.splitlines()] == [
        f"{path}:2:7",
        f"{path}:28:3",
        f"{path}:41:13",
    ]


def test_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    code, _, err = run_cli("playbook", "check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file; check the path"


def test_exit_code_2_from_a_real_process(tmp_path: Path) -> None:
    path = write_playbook(tmp_path, edit(sub={2: "  id: nope"}))
    proc = subprocess.run(
        [sys.executable, "-c", "from drill.cli import main; main()", "playbook", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}:2:7: tenant.id:")
    assert "Traceback" not in proc.stderr


# --- fuzz: whatever the bytes, the CLI answers with a playbook or `error: file:line:col: ...`, no traceback
_YAML_CHARS = st.sampled_from([*":-[]{}#&*!|>'\"%@`,? \t\n\\", "${X}", "0x1F", "~", "null", "- ", ": "])


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(BASE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "dup", "swap", "indent", "truncate"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "insert":
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(_YAML_CHARS) + line[at:]
        elif op == "delete" and len(lines) > 1:
            line = lines[i]
            at = draw(st.integers(0, max(0, len(line) - 1)))
            lines[i] = line[:at] + line[at + draw(st.integers(1, 6)) :]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        elif op == "truncate":
            lines = lines[: i + 1]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated())
def test_fuzzed_playbooks_never_escape_as_tracebacks(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_playbook(Path(folder), text)
        code, out, err = run_cli("playbook", "check", str(path))
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        assert err, "an error must be explained"
        for line in err.splitlines():
            assert line.startswith(f"error: {path}:"), line
            location = line.split(": ", 2)[1]
            assert location.count(":") >= 2, line
    else:
        assert out.startswith(f"# {path}: valid")


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write_playbook(tmp_path, "\n".join(lines) + "\n")
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 2
    # Refused at the first anchor, while parsing: nothing is ever expanded.
    assert err.startswith(f"error: {path}:1:5: YAML anchor `&a0` refused")


def test_self_referencing_alias_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write_playbook(tmp_path, "tenant: &t\n  loop: *t\n")
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert err.startswith(f"error: {path}:")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ("  cleanup:\n    comment: true", "sentinel.cleanup.comment", "does not write to Sentinel incidents"),
        ("  cleanup:\n    close: true", "sentinel.cleanup.close", "does not write to Sentinel incidents"),
    ],
)
def test_sentinel_options_not_built_are_refused_at_their_line(
    tmp_path: Path, extra: str, key: str, fragment: str
) -> None:
    """An option accepted must work: the incident writes are refused until built."""
    section = (
        "sentinel:\n  workspace_resource_id: /subscriptions/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
        "/resourceGroups"
        "/rg/providers/Microsoft.OperationalInsights/workspaces/ws\n  rule: Break-glass account activity\n"
    )
    path = write_playbook(tmp_path, BASE + section + extra + "\n")
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2, (out, err)
    line = len((BASE + section).splitlines()) + len(extra.splitlines())
    first = err.splitlines()[0]
    assert first.startswith(f"error: {path}:{line}:"), first
    assert f"{key}: " in first
    assert fragment in first
    assert "set it to false" in first  # the fix
    assert "Traceback" not in err


_SENTINEL = (
    "sentinel:\n  workspace_resource_id: /subscriptions/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01/resourceGroups"
    "/rg/providers/Microsoft.OperationalInsights/workspaces/ws\n  rule: Break-glass account activity\n"
)


def test_defender_onboarded_is_accepted_with_an_incident_and_refused_with_only_an_alert(
    tmp_path: Path,
) -> None:
    """The Defender read is built: accepted with require: incident (the default); with require: alert there
    is no incident to read in the portal, so the contradiction is refused with the fix."""
    ok_path = write_playbook(tmp_path, BASE + _SENTINEL + "  defender_onboarded: true\n")
    _code, _out, err = run_cli("playbook", "check", str(ok_path))
    assert "sentinel.defender_onboarded" not in err, err
    assert "error:" not in err, err
    bad = tmp_path / "alert-only"
    bad.mkdir()
    path = write_playbook(bad, BASE + _SENTINEL + "  require: alert\n  defender_onboarded: true\n")
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2, (out, err)
    first = err.splitlines()[0]
    assert first.startswith(f"error: {path}:"), first
    assert "set require: incident, or defender_onboarded: false" in first
    assert "Traceback" not in err
