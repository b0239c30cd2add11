"""A custom cloud that would send Microsoft tokens elsewhere (issue 17, item 4).

The attack: `graph_audience: https://graph.microsoft.com` with `graph_endpoint: https://evil.test`, and the
real Graph client sent `Authorization: Bearer <Global Administrator token>` to evil.test. Each playbook here
goes through the real loader or `drill playbook check`; a refusal must name `file:line:col` and the way out
(`allow_untrusted_endpoints: true`), and exit 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_cli
from playbook_support import edit, write_playbook

from drill.clouds import BUILTIN, PUBLIC, cloud_for
from drill.errors import DrillUserError
from drill.playbook import load_playbook, playbook_warnings

SAFE = {  # Microsoft's public cloud spelt out: each test changes what it attacks
    "authority_host": "https://login.microsoftonline.com",
    "graph_endpoint": "https://graph.microsoft.com",
    "logs_endpoint": "https://api.loganalytics.io",
}
SIM = {
    "authority_host": "https://login.sim.test",
    "graph_endpoint": "https://graph.sim.test",
    "logs_endpoint": "https://logs.sim.test",
}


def custom(*lines: str, **fields: str) -> str:
    """BASE with line 4 as a custom cloud: `custom:` on line 5, `fields` in order from line 6, then lines."""
    body = [f"      {k}: {v}" for k, v in {**SAFE, **fields}.items()]
    return edit(sub={4: "\n".join(["  cloud:", "    custom:", *body, *lines])})


def _refused(tmp_path: Path, text: str, *, flag_helps: bool = True) -> str:
    path = write_playbook(tmp_path, text)
    with pytest.raises(DrillUserError) as info:
        load_playbook(path, env={})
    assert info.value.exit_code == 2
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert ("allow_untrusted_endpoints: true" in message) is flag_helps
    return message.removeprefix(f"{path}:")


def test_the_reported_attack_is_refused_through_the_cli(tmp_path: Path) -> None:
    text = custom(
        authority_host="https://login.microsoftonline.com",
        graph_endpoint="https://evil.test",
        graph_audience="https://graph.microsoft.com",
    )
    path = write_playbook(tmp_path, text)
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert err.startswith(
        f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: a Graph token for the Microsoft audience "
        "graph.microsoft.com would be sent to evil.test, which is not graph.microsoft.com;"
    )
    assert "valid" not in out


AUDIENCES = [
    (f"{cloud.name}-{kind}", cloud.authority_host, kind, getattr(cloud, f"{kind}_audience"))
    for cloud in BUILTIN.values()
    for kind in ("graph", "logs")
]


@pytest.mark.parametrize(
    ("authority", "kind", "audience"), [a[1:] for a in AUDIENCES], ids=[a[0] for a in AUDIENCES]
)
def test_every_builtin_audience_is_kept_on_its_own_host(
    tmp_path: Path, authority: str, kind: str, audience: str
) -> None:
    line = 7 if kind == "graph" else 8
    fields = {"authority_host": authority, f"{kind}_endpoint": f"https://{kind}.sim.test"}
    where = _refused(tmp_path, custom(**fields, **{f"{kind}_audience": audience}))
    assert where.startswith(f"{line}:")
    assert f"{kind}_endpoint" in where
    assert "sim.test" in where


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://graph.microsoft.com.evil.test",
        "https://graph.microsoft.com@evil.test",
        "https://evil.test/graph.microsoft.com",
        "https://graph.microsoft.com:8443",
        "https://graph.microsoft.us",  # Microsoft's, but not the audience's host
    ],
)
def test_lookalike_endpoints_are_not_the_audience_host(tmp_path: Path, endpoint: str) -> None:
    text = custom(
        authority_host="https://login.microsoftonline.com",
        graph_endpoint=endpoint,
        graph_audience="https://graph.microsoft.com",
    )
    assert _refused(tmp_path, text).startswith("7:23: tenant.cloud.custom.graph_endpoint:")


@pytest.mark.parametrize(
    ("field", "line", "value", "says"),
    [
        ("graph_endpoint", "7:23", "https://graph.sim.test", "graph.sim.test is not a Microsoft Graph host"),
        ("logs_endpoint", "8:22", "https://logs.sim.test", "logs.sim.test is not a Microsoft Log Analytics"),
        ("graph_endpoint", "7:23", "https://api.loganalytics.io", "api.loganalytics.io is not a Microsoft"),
    ],
)
def test_without_the_flag_every_service_host_is_microsofts_for_its_role(
    tmp_path: Path, field: str, line: str, value: str, says: str
) -> None:
    where = _refused(tmp_path, custom(**{field: value}))
    assert where.startswith(f"{line}: tenant.cloud.custom.{field}: {says}")


def test_without_the_flag_no_passkey_rp_id_but_microsofts(tmp_path: Path) -> None:
    text = custom("      webauthn_related_origins:", "        fido.sim.test: [https://login.sim.test]")
    assert _refused(tmp_path, text).startswith(
        "10:24: tenant.cloud.custom.webauthn_related_origins.fido.sim.test: fido.sim.test is not a Microsoft "
        "passkey RP ID"
    )


def test_a_foreign_sign_in_host_may_not_obtain_microsoft_tokens(tmp_path: Path) -> None:
    """A proxy authority sees the auth code and the refresh token, even when Graph itself is Microsoft's."""
    text = custom(
        authority_host="https://login.evil.test",
        graph_endpoint="https://graph.microsoft.com",
        logs_endpoint="https://api.loganalytics.io",
    )
    assert _refused(tmp_path, text).startswith("6:23: tenant.cloud.custom.authority_host:")


def test_a_fully_qualified_scope_counts_as_an_audience(tmp_path: Path) -> None:
    text = (
        custom(graph_endpoint="https://graph.microsoft.us")  # Microsoft's Graph, but not the scope's
        + "drill_app:\n  scopes: [User.Read, https://graph.microsoft.com/RoleManagement.Read.Directory]\n"
    )
    text = text.replace("drill_app:\n  client_id: 3f0b6e2a-8c41-4d7e-9a15-2b6c8d9e0f13\n", "")
    where = _refused(tmp_path, text)
    assert where.startswith("46:23: drill_app.scopes[1]: a token for this scope")


@pytest.mark.parametrize("flag", [False, True], ids=["no-flag", "even-with-the-flag"])
def test_microsofts_passkey_rp_id_may_not_be_lent_to_a_foreign_origin(tmp_path: Path, flag: bool) -> None:
    """No setting lends it: the simulator has an RP ID of its own (login.microsoft.test)."""
    text = custom(
        "      webauthn_related_origins:",
        "        login.microsoft.com: [https://login.evil.test]",
        *(["      allow_untrusted_endpoints: true"] if flag else []),
        authority_host="https://login.microsoftonline.com",
    )
    assert _refused(tmp_path, text, flag_helps=False).startswith(
        "10:31: tenant.cloud.custom.webauthn_related_origins.login.microsoft.com[0]: login.evil.test may not "
        "use Microsoft's passkey RP ID login.microsoft.com"
    )


@pytest.mark.parametrize("rp_id", ["microsoft.com", "login.microsoftonline.com", "LOGIN.microsoft.us"])
def test_a_parent_or_sibling_of_microsofts_rp_id_is_guarded_too(tmp_path: Path, rp_id: str) -> None:
    text = custom(
        "      webauthn_related_origins:",
        f"        {rp_id}: [https://login.evil.test]",
        authority_host="https://login.microsoftonline.com",
    )
    assert "may not use Microsoft's passkey RP ID" in _refused(tmp_path, text, flag_helps=False)


def test_a_sign_in_host_of_its_own_needs_the_flag(tmp_path: Path) -> None:
    """It would receive the observer's client secret and the authorization codes, whatever the audiences."""
    where = _refused(tmp_path, custom(authority_host="https://login.sim.test"))
    assert where.startswith(
        "6:23: tenant.cloud.custom.authority_host: login.sim.test is not a Microsoft sign-in host, and the "
        "drill would send it the observer's client secret"
    )


def test_the_flag_lets_it_load_and_every_check_says_so_loudly(tmp_path: Path) -> None:
    text = custom(
        "      allow_untrusted_endpoints: true",
        **SIM,
        graph_audience="https://graph.microsoft.com",
        logs_audience="https://api.loganalytics.io",
    )
    path = write_playbook(tmp_path, text)
    pb = load_playbook(path, env={})
    assert cloud_for(pb).allow_untrusted_endpoints is True
    (first, *_) = playbook_warnings(pb)
    assert first.startswith("UNTRUSTED ENDPOINTS")
    assert "graph.microsoft.com would be sent to graph.sim.test" in first
    assert "api.loganalytics.io would be sent to logs.sim.test" in first
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 0
    assert err.startswith("warning: UNTRUSTED ENDPOINTS")
    code, _, _ = run_cli("playbook", "check", "--strict", str(path))
    assert code == 1


def test_the_flag_is_false_by_default_and_strictly_a_boolean(tmp_path: Path) -> None:
    text = custom("      allow_untrusted_endpoints: yes", graph_audience="https://graph.microsoft.com")
    path = write_playbook(tmp_path, text)
    with pytest.raises(DrillUserError, match=r":10:34: tenant.cloud.custom.allow_untrusted_endpoints: "):
        load_playbook(path, env={})


def test_an_unneeded_flag_is_advice_to_remove_it(tmp_path: Path) -> None:
    text = custom("      allow_untrusted_endpoints: true", name="contoso-public")
    pb = load_playbook(write_playbook(tmp_path, text), env={})
    assert any("nothing needs it" in w for w in playbook_warnings(pb))


@pytest.mark.parametrize(
    "fields",
    [
        {  # a DoD tenant, all on Microsoft's hosts (see drill/clouds.py)
            "authority_host": "https://login.microsoftonline.us",
            "graph_endpoint": "https://dod-graph.microsoft.us",
            "logs_endpoint": "https://api.loganalytics.us",
        },
        {  # Microsoft's public cloud, spelt out
            "authority_host": PUBLIC.authority_host,
            "graph_endpoint": PUBLIC.graph_endpoint,
            "logs_endpoint": PUBLIC.logs_endpoint,
            "name": "contoso-public",
        },
    ],
    ids=["dod", "public-spelt-out"],
)
def test_honest_custom_clouds_need_no_flag(tmp_path: Path, fields: dict[str, str]) -> None:
    pb = load_playbook(write_playbook(tmp_path, custom(**fields)), env={})
    assert cloud_for(pb).allow_untrusted_endpoints is False
    assert not any("UNTRUSTED" in w for w in playbook_warnings(pb))


@pytest.mark.parametrize("name", [*BUILTIN, "azurecloud", "gcc-high"])
def test_builtin_cloud_names_are_reserved(tmp_path: Path, name: str) -> None:
    path = write_playbook(tmp_path, custom(name=name))
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert err.startswith(
        f"error: {path}:9:13: tenant.cloud.custom.name: '{name}' is the name of a Microsoft cloud"
    )
