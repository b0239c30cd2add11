"""Valid playbooks: fields, defaults, paths, run-time values, advice, schema, Maester import, CLI output."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cli_support import run_cli
from playbook_support import BASE, MONITORING_SECTION, edit, write_filled, write_playbook
from ruamel.yaml import YAML

from drill.assets import EXAMPLE_PLAYBOOK, EXAMPLE_QUERIES
from drill.clouds import cloud_for
from drill.errors import DrillUserError
from drill.playbook import Playbook, import_maester, load_playbook, playbook_json_schema, playbook_warnings
from drill.playbook.model import GRAPH_CLI_APP_ID

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = EXAMPLE_PLAYBOOK
APP = "3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13"


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Playbook:
    return load_playbook(write_playbook(tmp_path, text), env=env)


def test_example_playbook_is_valid_and_follows_the_guidance() -> None:
    pb = load_playbook(EXAMPLE)
    assert [a.name for a in pb.accounts] == ["bg-1", "bg-2"]
    assert pb.accounts[0].key.aaguids == [uuid.UUID("ee882879-721c-4913-9775-3dfcce97072a")]
    assert pb.accounts[0].key.serial == "12345678"
    assert pb.observer.kind == "managed-identity"  # application permissions: azure-cli cannot hold them
    assert pb.alert_query_path == EXAMPLE_QUERIES / "breakglass-alert.kql"
    assert [p.expect for p in pb.conditional_access.expected_policies] == ["applies", "excluded"]
    assert pb.evidence.filing[0].kind == "folder"
    assert pb.announce is not None
    assert pb.announce.to == ["soc@contoso.com"]
    assert pb.browser.headless is None  # the template people copy keeps a live drill headed (issue 11)
    # The template is what people copy: it must itself raise no advice.
    assert playbook_warnings(pb) == []


def test_every_field_of_the_base_playbook(tmp_path: Path) -> None:
    pb = load(tmp_path, BASE)
    assert pb.tenant.id == uuid.UUID("0c5e1f4a-9d2b-4c71-8e36-5a8f0b7d2e91")
    assert pb.tenant.primary_domain == "contoso.onmicrosoft.com"
    assert pb.tenant.cloud == "public"
    a = pb.accounts[1]
    assert (a.name, a.upn, a.object_id) == (
        "bg-2",
        "bg-2@contoso.onmicrosoft.com",
        uuid.UUID("11111111-2222-4333-8444-555555555502"),
    )
    assert (a.key.label, a.key.vendor, a.key.serial) == ("BG-2", "Feitian", None)
    assert (a.storage_location, a.authorised_people) == ("Safe B", ["Carol", "Dan"])
    assert pb.drill_app.client_id == uuid.UUID("3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13")
    assert pb.log_analytics.workspace_id == uuid.UUID("7d3c2b1a-0f9e-4d8c-b7a6-95e4d3c2b1a0")
    assert pb.alert.mailbox == "soc@contoso.com"
    assert pb.alert.subject_match == "Emergency Access"
    assert pb.conditional_access.expected_policies[0].display_name == "Break-glass policy"


def test_defaults(tmp_path: Path) -> None:
    pb = load(tmp_path, edit(drop={24, 25, 37, 38, 39, 40, 41, 42}))
    assert pb.schema_version == 1
    assert pb.accounts[0].pin_retry_guard == 3
    assert pb.drill_app.client_id == GRAPH_CLI_APP_ID
    assert pb.drill_app.redirect_uri == "http://localhost"
    assert pb.drill_app.scopes == [
        "User.Read",
        "RoleManagement.Read.Directory",
        "Group.ReadWrite.All",
        "User.RevokeSessions.All",
    ]
    assert (pb.schedule.cycle_days, pb.schedule.reminder_lead_days, pb.schedule.ga_ceiling) == (
        180,
        [30, 7, 1],
        4,
    )
    assert pb.evidence.output_dir == Path("reports")
    assert pb.evidence.signing_key is None
    assert pb.evidence.filing == []
    assert pb.browser.headless is None  # unset: a live drill shows the browser (issue 11)
    assert pb.browser.executable is None
    assert pb.browser.ui_profile == {}
    assert pb.cleanup.revoke_sessions is True
    assert pb.announce is None
    assert pb.alert.sender == "azure-noreply@microsoft.com"
    assert pb.alert.sentinel_workspace is None
    assert pb.log_analytics.tables == ["SigninLogs", "AuditLogs"]
    assert pb.sla.log_row == 1800
    assert pb.sla.signin == 300


def test_paths_in_and_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pb = load(tmp_path / "pb", BASE)
    monkeypatch.chdir(tmp_path)
    assert pb.source == tmp_path / "pb" / "pb.yaml"
    assert pb.alert_query_path == tmp_path / "pb" / "alert.kql"
    assert "UserId in (Ids)" in pb.alert_query()
    assert pb.output_dir == tmp_path / "reports"
    assert pb.resolve(Path("/abs/x.pem")) == Path("/abs/x.pem")


def test_account_lookup(tmp_path: Path) -> None:
    pb = load(tmp_path, BASE)
    assert pb.account().name == "bg-1"
    assert pb.account("bg-2").upn.startswith("bg-2@")
    with pytest.raises(DrillUserError, match="choose one of: bg-1, bg-2"):
        pb.account("bg-3")


@pytest.mark.parametrize(
    ("block", "check"),
    [
        ("  kind: azure-cli", lambda o: o.kind == "azure-cli"),
        (
            f"  kind: certificate\n  client_id: {APP}\n  certificate_path: alert.kql\n"
            "  certificate_password_env: CERT_PASSWORD\n  send_certificate_chain: true",
            lambda o: o.certificate_password_env == "CERT_PASSWORD" and o.send_certificate_chain,
        ),
        (
            "  kind: client-secret-env\n  client_id: 3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13\n"
            "  client_secret_env: DRILL_OBSERVER_SECRET",
            lambda o: o.client_secret_env == "DRILL_OBSERVER_SECRET",
        ),
        ("  kind: managed-identity", lambda o: o.client_id is None),
        (
            f"  kind: workload-identity\n  client_id: {APP}\n  token_file_path: /var/run/t",
            lambda o: o.token_file_path == Path("/var/run/t"),
        ),
    ],
    ids=["azure-cli", "certificate", "client-secret-env", "managed-identity", "workload-identity"],
)
def test_observer_kinds(tmp_path: Path, block: str, check: object) -> None:
    pb = load(tmp_path, edit(sub={27: block}))
    assert callable(check)
    assert check(pb.observer)


def test_certificate_file_must_exist(tmp_path: Path) -> None:
    text = edit(sub={27: f"  kind: certificate\n  client_id: {APP}\n  certificate_path: c.pem"})
    with pytest.raises(
        DrillUserError, match=r"pb.yaml:29:21: observer.certificate_path: certificate .*c.pem not found"
    ):
        load(tmp_path, text)


CUSTOM = """  cloud:
    custom:
      name: sim
      authority_host: https://login.sim.test:${DRILL_SIM_PORT}
      graph_endpoint: https://graph.sim.test:${DRILL_SIM_PORT}/
      graph_audience: ${DRILL_SIM_GRAPH_AUDIENCE:-https://graph.microsoft.com}
      logs_endpoint: https://logs.sim.test:${DRILL_SIM_PORT}
      logs_audience: ${DRILL_SIM_LOGS_AUDIENCE:-https://api.loganalytics.io}
      ca_bundle: ${DRILL_SIM_CA:-}
      allow_untrusted_endpoints: true
      webauthn_related_origins:
        fido.sim.test: ["https://login.sim.test:${DRILL_SIM_PORT}"]"""


def test_custom_cloud_takes_run_time_values(tmp_path: Path) -> None:
    pb = load(tmp_path, edit(sub={4: CUSTOM}), env={"DRILL_SIM_PORT": "48213"})
    cloud = cloud_for(pb)
    assert cloud.name == "sim"
    assert cloud.authority_host == "https://login.sim.test:48213"
    assert cloud.graph_endpoint == "https://graph.sim.test:48213"  # trailing slash dropped
    assert cloud.logs_audience == "https://api.loganalytics.io"
    assert cloud.graph_default_scope == "https://graph.microsoft.com/.default"
    assert cloud.ca_bundle is None  # ${DRILL_SIM_CA:-} with DRILL_SIM_CA unset means "system trust only"
    assert dict(cloud.webauthn_related_origins) == {"fido.sim.test": ("https://login.sim.test:48213",)}


def test_custom_cloud_ca_bundle_is_relative_to_the_playbook(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    pb = load(tmp_path, edit(sub={4: CUSTOM}), env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": "ca.pem"})
    assert cloud_for(pb).ca_bundle == str(tmp_path / "ca.pem")
    with pytest.raises(DrillUserError, match=r"ca_bundle: CA bundle .*nope\.pem not found"):
        load(tmp_path, edit(sub={4: CUSTOM}), env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": "nope.pem"})


def test_variables_are_not_expanded_outside_the_custom_cloud(tmp_path: Path) -> None:
    pb = load(tmp_path, edit(sub={11: "      label: ${NOT_EXPANDED}"}), env={"NOT_EXPANDED": "x"})
    assert pb.accounts[0].key.label == "${NOT_EXPANDED}"


# --- advice ---------------------------------------------------------------------------------------------
def _warnings(tmp_path: Path, text: str) -> list[str]:
    return playbook_warnings(load(tmp_path, text + MONITORING_SECTION))


def test_base_playbook_has_no_advice(tmp_path: Path) -> None:
    assert _warnings(tmp_path, BASE) == []


def test_cadence_over_90_days_cites_microsoft(tmp_path: Path) -> None:
    (w,) = _warnings(tmp_path, edit(sub={38: "  cycle_days: 180"}))
    assert "cycle_days is 180" in w
    assert "Microsoft" in w
    assert "90 days" in w
    assert _warnings(tmp_path, edit(sub={38: "  cycle_days: 90"})) == []


def test_single_account(tmp_path: Path) -> None:
    text = edit(drop=set(range(15, 24)))
    assert any("at least two emergency access accounts" in w for w in _warnings(tmp_path, text))


def test_shared_aaguid_and_vendor(tmp_path: Path) -> None:
    text = edit(
        sub={19: "      aaguids: [ee882879-721c-4913-9775-3dfcce97072a]", 21: "      vendor: yubico "}
    )
    ws = _warnings(tmp_path, text)
    assert any("same key model (AAGUID ee882879-721c-4913-9775-3dfcce97072a)" in w for w in ws)
    assert any("same vendor (yubico)" in w for w in ws)


@pytest.mark.parametrize(("ceiling", "warned"), [(1, True), (2, False), (4, False), (5, True)])
def test_ga_ceiling_outside_cis_range(tmp_path: Path, ceiling: int, warned: bool) -> None:
    ws = _warnings(tmp_path, edit(ins={38: f"  ga_ceiling: {ceiling}"}))
    assert any("CIS recommends two to four" in w for w in ws) is warned


def test_account_hygiene(tmp_path: Path) -> None:
    text = edit(
        sub={
            7: "    upn: bg-1@contoso.com",
            14: "    authorised_people: [Alice]",
            22: "    storage_location: safe a",
        }
    )
    ws = _warnings(tmp_path, text)
    assert any("not on the tenant's initial *.onmicrosoft.com domain" in w for w in ws)
    assert any("bg-1 has one authorised person" in w for w in ws)
    assert any("same place (safe a)" in w for w in ws)


def test_default_app_empty_policies_secret_observer_and_upn_query(tmp_path: Path) -> None:
    text = edit(
        drop={24, 25, 34, 35, 36},
        sub={27: f"  kind: client-secret-env\n  client_id: {APP}\n  client_secret_env: S"},
    )
    path = write_playbook(tmp_path, text)
    (tmp_path / "alert.kql").write_text(
        'SigninLogs | where UserPrincipalName in ("bg-1@contoso.onmicrosoft.com")\n'
    )
    ws = playbook_warnings(load_playbook(path))
    assert any("Microsoft Graph Command Line Tools" in w for w in ws)
    assert any("expected_policies is empty" in w for w in ws)
    assert any("client secret" in w for w in ws)
    assert any("does not mention the object id of bg-1, bg-2" in w for w in ws)
    assert any("matches on UserPrincipalName" in w for w in ws)


def test_shipped_alert_query_names_the_example_accounts() -> None:
    query = (EXAMPLE_QUERIES / "breakglass-alert.kql").read_text()
    for needle in ("union isfuzzy=true", "mv-expand", "anyif(", "make_set_if(", "UserId in (BreakGlassIds)"):
        assert needle in query
    assert "UserPrincipalName in" not in query
    assert "UserPrincipalName ==" not in query


# --- schema ---------------------------------------------------------------------------------------------
def test_json_schema_describes_the_playbook() -> None:
    schema = playbook_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    # alert: and sentinel: are each optional; the loader needs at least one required watch
    assert set(schema["required"]) == {"tenant", "accounts", "observer", "log_analytics"}
    assert {"alert", "sentinel", "drill_app", "sla", "schedule", "evidence", "browser", "cleanup"} <= set(
        schema["properties"]
    )
    defs = schema["$defs"]
    assert all(d.get("additionalProperties") is False for d in defs.values() if d.get("type") == "object")
    kinds = json.dumps(schema["properties"]["observer"])
    assert "client-secret-env" in json.dumps(defs["ClientSecretEnvObserver"])
    assert "discriminator" in kinds
    assert "client_secret" not in defs["ClientSecretEnvObserver"]["properties"]


def test_schema_command_writes_a_file(tmp_path: Path) -> None:
    code, _, err = run_cli("playbook", "schema", "--output", str(tmp_path / "s.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "s.json").read_text()) == playbook_json_schema()
    code, out, _ = run_cli("playbook", "schema")
    assert code == 0
    assert json.loads(out)["title"] == "breakglass-drill playbook"


# --- check command --------------------------------------------------------------------------------------
def test_check_prints_a_normalised_playbook_that_loads_back(tmp_path: Path) -> None:
    path = write_playbook(tmp_path, edit(sub={38: "  cycle_days: 180"}))
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 0
    assert out.startswith(f"# {path}: valid\n")
    assert err.startswith("warning: schedule.cycle_days is 180")
    printed = write_playbook(tmp_path / "again", out)
    assert load_playbook(printed).model_dump() == load_playbook(path).model_dump()
    data = YAML(typ="safe").load(out)
    assert list(data)[:3] == ["schema_version", "tenant", "accounts"]
    assert data["accounts"][0]["pin_retry_guard"] == 3  # defaults are shown


def test_check_strict_fails_on_warnings(tmp_path: Path) -> None:
    path = write_playbook(tmp_path, edit(sub={38: "  cycle_days: 365"}))
    assert run_cli("playbook", "check", "--strict", str(path))[0] == 1
    base = write_filled(tmp_path / "b", BASE + MONITORING_SECTION)
    assert run_cli("playbook", "check", "--strict", str(base))[0] == 0


# --- Maester import -------------------------------------------------------------------------------------
DOCS_SHAPE = {
    "GlobalSettings": {
        "EmergencyAccessAccounts": [
            {"UserPrincipalName": "BreakGlass1@contoso.onmicrosoft.com", "Type": "User"},
            {"Id": "00000000-0000-0000-0000-0000000000aa", "Type": "Group"},
        ]
    },
    "TestSettings": [{"Id": "MT.1005", "Severity": "Critical"}],
}
MIXED_SHAPE = {
    "globalSettings": {
        "emergencyAccessAccounts": [
            "bg1@contoso.onmicrosoft.com",
            "11111111-2222-4333-8444-555555555502",
            {
                "userPrincipalName": "bg3@contoso.onmicrosoft.com",
                "id": "11111111-2222-4333-8444-555555555503",
                "displayName": "Tier-0 emergency #3",
            },
        ]
    }
}


def _maester(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "maester-config.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")
    return path


def test_import_maester_documented_shape(tmp_path: Path) -> None:
    text = import_maester(_maester(tmp_path, DOCS_SHAPE))
    data = YAML(typ="safe").load(text)
    assert data["tenant"]["primary_domain"] == "contoso.onmicrosoft.com"
    assert [a["upn"] for a in data["accounts"]] == ["BreakGlass1@contoso.onmicrosoft.com"]
    assert data["conditional_access"]["break_glass_group_id"] == "00000000-0000-0000-0000-0000000000aa"


# The Zero Trust Assessment's -ConfigurationFile (zt-config.json): its own top-level parameters beside the
# Maester-style GlobalSettings (microsoft/zerotrustassessment Invoke-ZtAssessment.ps1, commit 83a8700).
ZTA_SHAPE = {
    "Days": 30,
    "MaximumSignInLogQueryTime": 60,
    "Tests": ["21835"],
    "GlobalSettings": {
        "EmergencyAccessAccounts": [
            {"Type": "User", "UserPrincipalName": "bg-zta-1@contoso.onmicrosoft.com"},
            {"Type": "User", "Id": "11111111-2222-4333-8444-555555555509"},
            {"Type": "Group", "Id": "00000000-0000-0000-0000-0000000000bb"},
        ]
    },
}


def test_import_reads_the_zero_trust_assessment_config(tmp_path: Path) -> None:
    path = tmp_path / "zt-config.json"
    path.write_text(json.dumps(ZTA_SHAPE, indent=2), encoding="utf-8")
    data = YAML(typ="safe").load(import_maester(path))
    assert [a["upn"] for a in data["accounts"]] == ["bg-zta-1@contoso.onmicrosoft.com", "<upn>"]
    assert data["accounts"][1]["object_id"] == "11111111-2222-4333-8444-555555555509"
    assert data["conditional_access"]["break_glass_group_id"] == "00000000-0000-0000-0000-0000000000bb"


def test_import_maester_strings_and_any_case(tmp_path: Path) -> None:
    text = import_maester(_maester(tmp_path, MIXED_SHAPE))
    accounts = YAML(typ="safe").load(text)["accounts"]
    assert [a["upn"] for a in accounts] == [
        "bg1@contoso.onmicrosoft.com",
        "<upn>",
        "bg3@contoso.onmicrosoft.com",
    ]
    assert [a["object_id"] for a in accounts] == [
        "<object-id>",
        "11111111-2222-4333-8444-555555555502",
        "11111111-2222-4333-8444-555555555503",
    ]
    assert "# Tier-0 emergency #3" in text


def test_imported_skeleton_cannot_run_until_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "skeleton.yaml"
    path.write_text(import_maester(_maester(tmp_path, DOCS_SHAPE)), encoding="utf-8")
    with pytest.raises(DrillUserError, match=r"skeleton.yaml:\d+:\d+: .*is not a UUID"):
        load_playbook(path)


def test_import_maester_command(tmp_path: Path) -> None:
    src = _maester(tmp_path, DOCS_SHAPE)
    code, out, _ = run_cli("playbook", "import-maester", str(src))
    assert code == 0
    assert "BreakGlass1@contoso.onmicrosoft.com" in out
    code, _, err = run_cli("playbook", "import-maester", str(src), "--output", str(tmp_path / "new.yaml"))
    assert code == 0
    assert (tmp_path / "new.yaml").is_file()
    code, _, err = run_cli("playbook", "import-maester", str(src), "--output", str(tmp_path / "new.yaml"))
    assert code == 2
    assert "already exists" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"GlobalSettings": {', r"maester-config.json:1:21: not valid JSON"),
        ("[]", r"maester-config.json:1:1: no GlobalSettings object"),
        ({"GlobalSettings": {}}, r"no EmergencyAccessAccounts"),
        (
            {"GlobalSettings": {"EmergencyAccessAccounts": []}},
            r"maester-config.json:3:6: EmergencyAccessAccounts is empty",
        ),
        ({"GlobalSettings": {"EmergencyAccessAccounts": "bg@x.com"}}, r"must be a list"),
        ({"GlobalSettings": {"EmergencyAccessAccounts": [5]}}, r"entry 1 is int"),
        (
            {"GlobalSettings": {"EmergencyAccessAccounts": [{"Id": "nope"}]}},
            r"entry 1 has Id 'nope', which is not",
        ),
        ({"GlobalSettings": {"EmergencyAccessAccounts": [{"Type": "Group"}]}}, r"Group without an Id"),
        (
            {"GlobalSettings": {"EmergencyAccessAccounts": [{"Type": "User"}]}},
            r"neither UserPrincipalName nor Id",
        ),
        (
            {"GlobalSettings": {"EmergencyAccessAccounts": [{"Type": "Device", "Id": str(uuid.uuid4())}]}},
            "Type 'device'",
        ),
    ],
)
def test_import_maester_bad_files(tmp_path: Path, content: object, message: str) -> None:
    path = _maester(tmp_path, content)
    with pytest.raises(DrillUserError, match=message):
        import_maester(path)
    code, out, err = run_cli("playbook", "import-maester", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert len(err.splitlines()) == 1


def test_import_maester_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DrillUserError, match="no such file"):
        import_maester(tmp_path / "missing.json")


# --- every field rejects a wrong value, at its own line -----------------------------------------------------
FIELD_REJECTIONS: list[tuple[str, str, int, str]] = [
    # (dotted path in the message, playbook text, line, what the message must say)
    ("tenant.primary_domain", edit(sub={3: "  primary_domain: not a domain"}), 3, "not a valid domain name"),
    ("accounts[0].storage_location", edit(sub={13: '    storage_location: ""'}), 13, "must not be empty"),
    (
        "accounts[0].authorised_people",
        edit(sub={14: "    authorised_people: []"}),
        14,
        "add the missing item",
    ),
    ("accounts[0].key", edit(drop={11}), 9, "missing required key `label`"),
    ("accounts[0].key.vendor", edit(sub={12: "      vendor: [Yubico]"}), 12, "write text"),
    ("accounts[0].key.serial", edit(ins={12: "      serial: 12345678"}), 13, "quote it"),
    ("drill_app.client_id", edit(sub={25: "  client_id: app"}), 25, "is not a UUID"),
    ("drill_app.scopes", edit(ins={25: "  scopes: []"}), 26, "add the missing item"),
    ("log_analytics.workspace_id", edit(sub={29: "  workspace_id: ws-1"}), 29, "is not a UUID"),
    ("log_analytics.tables", edit(ins={30: "  tables: SigninLogs"}), 31, "write a list"),
    ("alert.sender", edit(ins={33: "  sender: azure noreply"}), 34, "not a valid mail address"),
    ("alert.sentinel_workspace", edit(ins={33: "  sentinel_workspace: sentinel"}), 34, "is not a UUID"),
    (
        "conditional_access.break_glass_group_id",
        edit(ins={34: "  break_glass_group_id: bg"}),
        35,
        "is not a UUID",
    ),
    ("conditional_access.expected_policies[0].id", edit(ins={36: "      id: policy-1"}), 37, "is not a UUID"),
    ("sla.alert", edit(ins={42: "sla:\n  alert: soon"}), 44, "write a number"),
    (
        "schedule.reminder_lead_days[0]",
        edit(ins={38: "  reminder_lead_days: [-1]"}),
        39,
        "greater than or equal to 0",
    ),
    ("schedule.ga_ceiling", edit(ins={38: "  ga_ceiling: 0"}), 39, "greater than or equal to 1"),
    (
        "schedule.daily_keyless_check",
        edit(ins={38: "  daily_keyless_check: daily"}),
        39,
        "write true or false",
    ),
    ("evidence.output_dir", edit(ins={42: "evidence:\n  output_dir: [a, b]"}), 44, "evidence.output_dir"),
    (
        "evidence.signing_key",
        edit(ins={42: "evidence:\n  signing_key: {path: k.pem}"}),
        44,
        "evidence.signing_key",
    ),
    (
        "evidence.filing[0]",
        edit(ins={42: "evidence:\n  filing:\n    - kind: folder"}),
        45,
        "missing required key `path`",
    ),
    (
        "evidence.filing[0].site_url",
        edit(
            ins={
                42: "evidence:\n  filing:\n    - kind: sharepoint\n      site_url: http://contoso.sharepoint.com"
            }
        ),
        46,
        "must be an https:// URL",
    ),
    ("browser.executable", edit(ins={40: "  executable: [chromium]"}), 41, "browser.executable"),
    ("browser.locale", edit(ins={40: '  locale: ""'}), 41, "must not be empty"),
    ("cleanup.revoke_sessions", edit(sub={42: "  revoke_sessions: no"}), 42, "write true or false"),
    (
        "observer.client_id",
        edit(sub={27: "  kind: managed-identity\n  client_id: mi"}),
        28,
        "is not a UUID",
    ),
    (
        "observer.send_certificate_chain",
        edit(
            sub={
                27: f"  kind: certificate\n  client_id: {APP}\n  certificate_path: alert.kql\n"
                "  send_certificate_chain: yes"
            }
        ),
        30,
        "write true or false",
    ),
    (
        "observer.token_file_path",
        edit(sub={27: f"  kind: workload-identity\n  client_id: {APP}\n  token_file_path: 5"}),
        29,
        "observer.token_file_path",
    ),
    (
        "tenant.cloud.custom.name",
        edit(
            sub={
                4: "  cloud:\n    custom:\n      name: My Sim\n      authority_host: https://a.test\n"
                "      graph_endpoint: https://g.test\n      logs_endpoint: https://l.test"
            }
        ),
        6,
        "not a valid short name",
    ),
    (
        "tenant.cloud.custom.logs_audience",
        edit(
            sub={
                4: "  cloud:\n    custom:\n      authority_host: https://a.test\n      graph_endpoint: https://g.test\n"
                "      logs_endpoint: https://l.test\n      logs_audience: api.loganalytics.io"
            }
        ),
        9,
        "must be an https:// URL",
    ),
    (
        "tenant.cloud.custom.webauthn_related_origins",
        edit(
            sub={
                4: "  cloud:\n    custom:\n      authority_host: https://a.test\n      graph_endpoint: https://g.test\n"
                "      logs_endpoint: https://l.test\n      webauthn_related_origins:\n"
                '        "https://fido.test": [https://a.test]'
            }
        ),
        10,
        "not a WebAuthn RP ID",
    ),
]


@pytest.mark.parametrize(
    ("dotted", "text", "line", "says"), FIELD_REJECTIONS, ids=[f[0] for f in FIELD_REJECTIONS]
)
def test_each_field_rejects_a_wrong_value_at_its_line(
    tmp_path: Path, dotted: str, text: str, line: int, says: str
) -> None:
    path = write_playbook(tmp_path, text)
    with pytest.raises(DrillUserError) as info:
        load_playbook(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert f": {dotted}" in message
    assert says in message


# Issue 29, item 12: a DisplayName with line breaks closed its YAML comment and became live YAML.
HOSTILE_NAMES = [
    "Bob\nschema_version: 99\nevil: true",
    "Bob\r  - name: bg-9\r    upn: evil@evil.test",
    "Bob\u2028tenant: {id: evil}",  # YAML also breaks lines at LS, PS and NEL
    "Bob\u2029evil: 1\x85other: 2",
    "Bob \x1b[2J\u202eevil",
]


@pytest.mark.parametrize("display", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_import_maester_keeps_a_hostile_display_name_inert(tmp_path: Path, display: str) -> None:
    """Through the real CLI: the file loads to exactly what a harmless name gives, the name in a comment."""

    def imported(folder: Path, name: str, source_name: str) -> str:
        folder.mkdir()
        entry = {"UserPrincipalName": "bg1@contoso.onmicrosoft.com", "Type": "User", "DisplayName": name}
        src = folder / source_name
        src.write_text(json.dumps({"GlobalSettings": {"EmergencyAccessAccounts": [entry]}}), encoding="utf-8")
        out = folder / "new.yaml"
        code, _, err = run_cli("playbook", "import-maester", str(src), "--output", str(out))
        assert code == 0, err
        return out.read_text(encoding="utf-8")

    hostile = imported(tmp_path / "h", display, "maester\nevil: 1\u2028.json")
    benign = imported(tmp_path / "b", "Bob", "maester.json")
    assert YAML(typ="safe").load(hostile) == YAML(typ="safe").load(benign)
    for raw in ("\r", "\x1b", "\u2028", "\u2029", "\x85", "\u202e"):
        assert raw not in hostile
    from drill.text import clean_text

    (comment,) = [line for line in hostile.splitlines() if line.startswith("  # Bob")]
    assert comment == f"  # {clean_text(display)}"  # the whole name, shown on its one line
    assert len(hostile.splitlines()) == len(benign.splitlines())
    code, _, err = run_cli("playbook", "check", str(tmp_path / "h" / "new.yaml"))
    assert code == 2
    assert err == run_cli("playbook", "check", str(tmp_path / "b" / "new.yaml"))[2].replace("/b/", "/h/")
