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
        "      authority_host: https://login.sim.test:${DRILL_PORT}\n"
        "      graph_endpoint: https://graph.sim.test:${DRILL_PORT}\n"
        "      logs_endpoint: https://logs.sim.test:${DRILL_PORT}\n"
        "      webauthn_related_origins:\n"
        '        FIDO.sim.test: ["https://login.sim.test:${DRILL_PORT}/"]'
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
    )
    assert cloud.graph_audience == "https://graph.sim.test:9443"


# --- where tokens may go (issue 17, item 4) -------------------------------------------------------------
def _hosts(cloud: Cloud) -> list[str]:
    urls = [cloud.authority_host, cloud.graph_endpoint, cloud.graph_audience, cloud.logs_endpoint]
    urls += [
        cloud.logs_audience,
        *(o for origins in cloud.webauthn_related_origins.values() for o in origins),
    ]
    return [urlsplit(u).hostname or "" for u in urls] + list(cloud.webauthn_related_origins)


@pytest.mark.parametrize("cloud", [PUBLIC, USGOV, CHINA], ids=lambda c: c.name)
def test_the_trust_rule_knows_every_builtin_host_and_name(cloud: Cloud) -> None:
    """The playbook layer cannot import this module, so its list is proven against the built-ins here."""
    from drill.playbook.endpoints import RESERVED_CLOUD_NAMES, is_microsoft_host, untrusted_pairings

    assert all(is_microsoft_host(h) for h in _hosts(cloud)), _hosts(cloud)
    assert cloud.name in RESERVED_CLOUD_NAMES
    pairings = untrusted_pairings(
        authority_host=cloud.authority_host,
        graph_endpoint=cloud.graph_endpoint,
        graph_audience=cloud.graph_audience,
        logs_endpoint=cloud.logs_endpoint,
        logs_audience=cloud.logs_audience,
        webauthn_related_origins={rp: list(o) for rp, o in cloud.webauthn_related_origins.items()},
        scopes=[cloud.graph_scope("User.Read")],
    )
    assert pairings == []


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

    root = Path(__file__).resolve().parents[2]
    pb = load_playbook(root / "playbooks" / "demo.yaml", env={"DRILL_SIM_PORT": "4711"})
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
