"""Clouds: Microsoft's endpoint sets, the WebAuthn RP split, and custom sets from a playbook."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playbook_support import edit, write_playbook

from drill.assets import DEMO_PLAYBOOK
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
        "      authority_host: https://login.sim.test:${DRILL_PORT}\n"
        "      graph_endpoint: https://graph.sim.test:${DRILL_PORT}\n"
        "      logs_endpoint: https://logs.sim.test:${DRILL_PORT}\n"
        "      webauthn_related_origins:\n"
        '        FIDO.sim.test: ["https://login.sim.test:${DRILL_PORT}/"]\n'
        "      allow_untrusted_endpoints: true"
    )
    pb = load_playbook(write_playbook(tmp_path, edit(sub={4: block})), env={"DRILL_PORT": "9443"})
    cloud = cloud_for(pb)
    assert cloud == Cloud(
        name="custom",
        authority_host="https://login.sim.test:9443",
        graph_endpoint="https://graph.sim.test:9443",
        logs_endpoint="https://logs.sim.test:9443",
        logs_audience="https://logs.sim.test:9443",
        webauthn_related_origins={"fido.sim.test": ("https://login.sim.test:9443",)},
        allow_untrusted_endpoints=True,
    )
    assert cloud.graph_audience == "https://graph.sim.test:9443"


# --- where tokens may go (issue 17, item 4; issue 29, item 2) -----------------------------------------------
@pytest.mark.parametrize("cloud", [PUBLIC, USGOV, CHINA], ids=lambda c: c.name)
def test_the_trust_rule_knows_every_builtin_host_and_name(cloud: Cloud) -> None:
    """The playbook layer cannot import this module, so its allow-list is proven against the built-ins here,
    host by host and role by role (a Graph host is no sign-in host)."""
    from drill.playbook.endpoints import RESERVED_CLOUD_NAMES, untrusted_pairings
    from drill.playbook.microsoft_hosts import CLOUD_HOSTS, is_microsoft_rp_id

    (hosts,) = [h for h in CLOUD_HOSTS if h.cloud == cloud.name]

    def host(url: str) -> str:
        return urlsplit(url).hostname or ""

    assert host(cloud.authority_host) in hosts.sign_in
    assert {host(cloud.graph_endpoint), host(cloud.graph_audience)} <= hosts.graph
    assert {host(cloud.logs_endpoint), host(cloud.logs_audience)} <= hosts.logs
    assert {host(cloud.arm_endpoint), host(cloud.arm_audience)} <= hosts.arm
    for rp_id, origins in cloud.webauthn_related_origins.items():
        assert rp_id in hosts.passkey_rp_ids
        assert is_microsoft_rp_id(rp_id)
        assert {host(o) for o in origins} <= hosts.sign_in
    assert cloud.name in RESERVED_CLOUD_NAMES
    pairings = untrusted_pairings(
        authority_host=cloud.authority_host,
        graph_endpoint=cloud.graph_endpoint,
        graph_audience=cloud.graph_audience,
        logs_endpoint=cloud.logs_endpoint,
        logs_audience=cloud.logs_audience,
        webauthn_related_origins={rp: list(o) for rp, o in cloud.webauthn_related_origins.items()},
        scopes=[cloud.graph_scope("User.Read")],
        arm_endpoint=cloud.arm_endpoint,
        arm_audience=cloud.arm_audience,
    )
    assert pairings == []


def test_the_allow_list_names_hosts_never_domains() -> None:
    """Every entry is a host of at least three labels; none is a registrable domain a customer rents under."""
    from drill.playbook.microsoft_hosts import CLOUD_HOSTS, is_microsoft_host

    for cloud in CLOUD_HOSTS:
        for name in cloud.sign_in | cloud.services | cloud.passkey_rp_ids:
            assert name.count(".") >= 2, name
            assert name == name.lower(), name
    for rented in ("cloudapp.azure.com", "azurewebsites.net", "web.core.windows.net", "core.windows.net"):
        assert not is_microsoft_host(rented)
        assert not is_microsoft_host(f"login.{rented}")


def test_cloud_for_refuses_a_playbook_built_in_code_that_never_met_the_loader(tmp_path: Path) -> None:
    from drill.errors import DrillUserError
    from drill.playbook import Playbook

    pb = load_playbook(write_playbook(tmp_path, edit()))
    data = pb.model_dump(mode="json")
    data["tenant"]["cloud"] = {
        "custom": {
            "authority_host": "https://login.microsoftonline.com",
            "graph_endpoint": "https://evil.test",
            "graph_audience": "https://graph.microsoft.com",
            "logs_endpoint": "https://api.loganalytics.io",
        }
    }
    forged = Playbook.model_validate(data)
    with pytest.raises(
        DrillUserError, match=r"would be sent to evil\.test, which is not graph\.microsoft\.com"
    ):
        cloud_for(forged)


def test_the_drill_record_names_the_endpoints_it_used(tmp_path: Path) -> None:
    """report.json's workstation.endpoints: where the tokens went, and whether the flag allowed it."""
    import json

    from drill.progress import Progress
    from drill.run.orchestrator import new_record
    from drill.steps.context import DrillContext

    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "4711"})
    ctx = DrillContext(
        playbook=pb,
        account=pb.accounts[0],
        cloud=cloud_for(pb),
        open_key=lambda: None,  # type: ignore[arg-type,return-value]
        progress=Progress(quiet=True),
    )
    record = json.loads(new_record(ctx, None, None).model_dump_json())
    endpoints = record["workstation"]["endpoints"]
    assert endpoints["cloud"] == "simulator"
    assert endpoints["graph_endpoint"] == endpoints["logs_endpoint"] == "https://127.0.0.1:4711"
    assert endpoints["graph_audience"] == "https://graph.microsoft.com"
    assert endpoints["logs_audience"] == "https://api.loganalytics.io"
    assert endpoints["allow_untrusted_endpoints"] is True
    assert PUBLIC.endpoints()["allow_untrusted_endpoints"] is False
