"""Clouds: Microsoft's endpoint sets, the WebAuthn RP split, and custom sets from a playbook."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playbook_support import edit, write_playbook

from drill.clouds import BUILTIN, CHINA, PUBLIC, USGOV, Cloud, cloud_for
from drill.playbook import load_playbook


@pytest.mark.parametrize("cloud", [PUBLIC, USGOV, CHINA], ids=lambda c: c.name)
def test_builtin_endpoints_are_https_base_urls(cloud: Cloud) -> None:
    for url in (cloud.authority_host, cloud.graph_endpoint, cloud.logs_endpoint, cloud.logs_audience):
        parts = urlsplit(url)
        assert parts.scheme == "https"
        assert parts.hostname
        assert parts.path == ""
        assert not url.endswith("/")
    assert cloud.ca_bundle is None
    for rp_id, origins in cloud.webauthn_related_origins.items():
        assert "/" not in rp_id
        assert all(o.startswith("https://") for o in origins)


def test_known_endpoints() -> None:
    assert PUBLIC.authority_host == "https://login.microsoftonline.com"
    assert PUBLIC.graph_endpoint == "https://graph.microsoft.com"
    assert PUBLIC.logs_endpoint == PUBLIC.logs_audience == "https://api.loganalytics.io"
    assert USGOV.authority_host == "https://login.microsoftonline.us"
    assert USGOV.graph_endpoint == "https://graph.microsoft.us"
    assert USGOV.logs_endpoint == "https://api.loganalytics.us"
    assert CHINA.authority_host == "https://login.chinacloudapi.cn"
    assert CHINA.graph_endpoint == "https://microsoftgraph.chinacloudapi.cn"
    assert CHINA.logs_endpoint == "https://api.loganalytics.azure.cn"
    assert dict(BUILTIN) == {"public": PUBLIC, "usgov": USGOV, "china": CHINA}


def test_authority_hosts_match_azure_identity() -> None:
    from azure.identity import AzureAuthorityHosts

    assert PUBLIC.authority_host == f"https://{AzureAuthorityHosts.AZURE_PUBLIC_CLOUD}"
    assert USGOV.authority_host == f"https://{AzureAuthorityHosts.AZURE_GOVERNMENT}"
    assert CHINA.authority_host == f"https://{AzureAuthorityHosts.AZURE_CHINA}"


def test_public_rp_split_is_allowed_explicitly_because_fido2_would_refuse_it() -> None:
    from fido2.rpid import verify_rp_id

    assert PUBLIC.webauthn_related_origins["login.microsoft.com"] == ("https://login.microsoftonline.com",)
    assert not verify_rp_id("login.microsoft.com", "https://login.microsoftonline.com")
    assert CHINA.webauthn_related_origins == {}


def test_clouds_are_immutable() -> None:
    with pytest.raises(AttributeError):
        PUBLIC.authority_host = "https://evil.test"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PUBLIC.webauthn_related_origins["evil.test"] = ("https://evil.test",)  # type: ignore[index]


def test_scopes_and_authority() -> None:
    assert USGOV.graph_default_scope == "https://graph.microsoft.us/.default"
    assert PUBLIC.graph_scope("User.Read") == "https://graph.microsoft.com/User.Read"
    assert CHINA.graph_audience == CHINA.graph_endpoint
    sim = Cloud(
        "sim",
        "https://l.test",
        "https://g.test:1",
        "https://q.test",
        "https://q.test",
        graph_audience="https://graph.microsoft.com",
    )
    assert sim.graph_default_scope == "https://graph.microsoft.com/.default"
    assert PUBLIC.logs_default_scope == "https://api.loganalytics.io/.default"
    assert (
        PUBLIC.authority("contoso.onmicrosoft.com")
        == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    )


@pytest.mark.parametrize("name", ["public", "usgov", "china"])
def test_cloud_for_named_clouds(tmp_path: Path, name: str) -> None:
    pb = load_playbook(write_playbook(tmp_path, edit(sub={4: f"  cloud: {name}"})))
    assert cloud_for(pb) is BUILTIN[name]


def test_cloud_for_custom_cloud(tmp_path: Path) -> None:
    block = (
        "  cloud:\n    custom:\n"
        "      authority_host: https://login.sim.test:${PORT}\n"
        "      graph_endpoint: https://graph.sim.test:${PORT}\n"
        "      logs_endpoint: https://logs.sim.test:${PORT}\n"
        "      webauthn_related_origins:\n"
        '        FIDO.sim.test: ["https://login.sim.test:${PORT}/"]'
    )
    pb = load_playbook(write_playbook(tmp_path, edit(sub={4: block})), env={"PORT": "9443"})
    cloud = cloud_for(pb)
    assert cloud == Cloud(
        name="custom",
        authority_host="https://login.sim.test:9443",
        graph_endpoint="https://graph.sim.test:9443",
        logs_endpoint="https://logs.sim.test:9443",
        logs_audience="https://logs.sim.test:9443",
        webauthn_related_origins={"fido.sim.test": ("https://login.sim.test:9443",)},
    )
    assert cloud.graph_audience == "https://graph.sim.test:9443"
