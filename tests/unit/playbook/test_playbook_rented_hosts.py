"""Hosts any Azure customer can rent under Microsoft's domains are not Microsoft's (issue 29, item 2).

The attack: a custom cloud whose authority host and WebAuthn related origin were
`https://<anything>.westeurope.cloudapp.azure.com` passed `drill playbook check` silently, counted as a
built-in cloud and could use the RP ID `login.microsoft.com`, because the rule trusted whole registrable
domains. A live drill would have sent that host the observer's secret, the authorization codes and a
relayable passkey assertion. Each rented name below goes through the real CLI (`drill playbook check`) and
through the live wiring (`drill run`, `drill preflight`), which must refuse it before anyone is prompted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import run_cli
from playbook_support import edit, write_playbook

from drill.assets import DEMO_PLAYBOOK
from drill.clouds import PUBLIC

# One customer-chosen host under each registrable domain Microsoft lets customers rent names in.
RENTED = [
    "https://evil.westeurope.cloudapp.azure.com",
    "https://login-microsoftonline.azurewebsites.net",
    "https://evil.z6.web.core.windows.net",
    "https://evil.blob.core.windows.net",
    "https://login.trafficmanager.net",
]


@pytest.fixture(autouse=True)
def _no_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    def prompted(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"the operator was prompted: {args!r}")

    monkeypatch.setattr("getpass.getpass", prompted)
    monkeypatch.setattr("typer.prompt", prompted)


def _playbook(tmp_path: Path, *, authority: str, origin: str, flag: bool = False) -> Path:
    """Microsoft's own Graph and Log Analytics, the rented host as sign-in host (line 6, col 23) and as a
    related origin of Microsoft's passkey RP ID (line 10, col 31)."""
    block = [
        "  cloud:",
        "    custom:",
        f"      authority_host: {authority}",
        f"      graph_endpoint: {PUBLIC.graph_endpoint}",
        f"      logs_endpoint: {PUBLIC.logs_endpoint}",
        "      webauthn_related_origins:",
        f"        login.microsoft.com: [{origin}]",
        *(["      allow_untrusted_endpoints: true"] if flag else []),
    ]
    return write_playbook(tmp_path, edit(sub={4: "\n".join(block)}))


def _refusals(tmp_path: Path, path: Path) -> list[tuple[int, str]]:
    """(exit code, stderr) of `drill playbook check`, `drill preflight` and `drill run`."""
    out = []
    for args in (
        ("playbook", "check", str(path)),
        ("preflight", str(path)),
        ("run", str(path), "--account", "bg-1", "--output", str(tmp_path / "evidence")),
    ):
        code, _, err = run_cli(*args)
        out.append((code, err))
    assert not (tmp_path / "evidence").exists()
    return out


@pytest.mark.parametrize("rented", RENTED, ids=lambda u: u.split(".", 1)[1])
def test_a_rented_sign_in_host_is_refused_everywhere(tmp_path: Path, rented: str) -> None:
    path = _playbook(tmp_path, authority=rented, origin=PUBLIC.authority_host)
    host = rented.removeprefix("https://")
    for code, err in _refusals(tmp_path, path):
        assert code == 2, err
        assert err.startswith(
            f"error: {path}:6:23: tenant.cloud.custom.authority_host: {host} is not a Microsoft sign-in host"
        ), err
        assert "login.microsoftonline.com (public)" in err  # the fix names the real ones
        assert "Traceback" not in err


@pytest.mark.parametrize("flag", [False, True], ids=["no-flag", "with-the-flag"])
@pytest.mark.parametrize("rented", RENTED, ids=lambda u: u.split(".", 1)[1])
def test_a_rented_origin_never_gets_microsofts_passkey_rp_id(tmp_path: Path, rented: str, flag: bool) -> None:
    path = _playbook(tmp_path, authority=PUBLIC.authority_host, origin=rented, flag=flag)
    host = rented.removeprefix("https://")
    for code, err in _refusals(tmp_path, path):
        assert code == 2, err
        assert err.startswith(
            f"error: {path}:10:31: tenant.cloud.custom.webauthn_related_origins.login.microsoft.com[0]: "
            f"{host} may not use Microsoft's passkey RP ID login.microsoft.com"
        ), err


@pytest.mark.parametrize("rented", RENTED, ids=lambda u: u.split(".", 1)[1])
def test_a_rented_host_with_the_flag_is_loud_and_never_a_builtin_cloud(tmp_path: Path, rented: str) -> None:
    """The flag is the simulator's explicit way in: it loads, it is reported first, it is not Microsoft."""
    from drill.clouds import cloud_for
    from drill.keys.inventory import is_builtin_cloud
    from drill.playbook import load_playbook

    path = _playbook(tmp_path, authority=rented, origin=PUBLIC.authority_host, flag=True)
    code, _, err = run_cli("playbook", "check", str(path))
    assert code == 0
    assert err.startswith("warning: UNTRUSTED ENDPOINTS")
    assert f"{rented.removeprefix('https://')} is not a Microsoft sign-in host" in err
    cloud = cloud_for(load_playbook(path, env={}))
    assert cloud.allow_untrusted_endpoints is True
    assert not is_builtin_cloud(cloud)


def test_the_demo_playbooks_simulator_path_is_unchanged() -> None:
    """The simulator: 127.0.0.1 with the flag, and its own RP split on .test names (not Microsoft's)."""
    from drill.clouds import cloud_for
    from drill.keys.inventory import is_builtin_cloud
    from drill.playbook import load_playbook, playbook_warnings

    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "4711"})
    cloud = cloud_for(pb)
    assert cloud.webauthn_related_origins == {"login.microsoft.test": ("https://login.microsoftonline.test",)}
    assert cloud.allow_untrusted_endpoints is True
    assert not is_builtin_cloud(cloud)
    assert playbook_warnings(pb)[0].startswith("UNTRUSTED ENDPOINTS")
