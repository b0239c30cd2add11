"""`${VAR}` expansion reading any variable, after the secret scan (issue 17, item 5).

The attack: `graph_endpoint: https://graph.sim.test/${AZURE_CLIENT_SECRET}`, and `drill playbook check`
printed the secret inside the normalised playbook. Only `DRILL_*` names expand now, names that say secret are
refused, and what expansion brings in is scanned for secrets again. Every case runs the real CLI, which
expands from the real environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_cli
from playbook_support import edit, write_playbook

from drill.secrets import forget_secrets, register_secret

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eXoifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
CLIENT_SECRET = "abc8Q~abcdefghijklmnopqrstuvwxyz01234567"


def custom(graph_endpoint: str) -> str:
    """BASE with a custom cloud; graph_endpoint's value starts at line 7, column 23."""
    block = [
        "  cloud:",
        "    custom:",
        "      authority_host: https://login.sim.test",
        f"      graph_endpoint: {graph_endpoint}",
        "      logs_endpoint: https://logs.sim.test",
        "      allow_untrusted_endpoints: true",  # a sign-in host of its own: not Microsoft's
    ]
    return edit(sub={4: "\n".join(block)})


def _check(tmp_path: Path, text: str) -> tuple[int, str, str, Path]:
    path = write_playbook(tmp_path, text)
    code, out, err = run_cli("playbook", "check", str(path))
    return code, out, err, path


@pytest.mark.parametrize(
    ("name", "value"),
    [("AZURE_CLIENT_SECRET", CLIENT_SECRET), ("HOME", "/home/operator-private"), ("path", "/usr/bin")],
)
def test_only_drill_variables_expand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    code, out, err, path = _check(tmp_path, custom(f"https://graph.sim.test/${{{name}}}"))
    assert code == 2
    assert err.startswith(
        f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: ${{{name}}} cannot be expanded: "
        "only DRILL_* variables are read from the environment"
    )
    assert f"export it as DRILL_{name.upper()}" in err
    assert value not in out + err


def test_a_default_does_not_make_a_foreign_name_expandable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "x" * 36)
    code, out, err, _ = _check(tmp_path, custom("https://graph.sim.test/${GITHUB_TOKEN:-none}"))
    assert code == 2
    assert "${GITHUB_TOKEN} cannot be expanded" in err
    assert "ghp_" not in out + err


@pytest.mark.parametrize(("name", "value"), [("DRILL_API_PATH", JWT), ("DRILL_TENANT_PATH", CLIENT_SECRET)])
def test_an_expanded_secret_is_refused_and_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    code, out, err, path = _check(tmp_path, custom(f"https://graph.sim.test/${{{name}}}"))
    assert code == 2
    assert err.startswith(f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: this value looks like a ")
    assert value not in out + err
    assert value[:12] not in out + err


def test_a_secret_this_process_holds_is_refused_whatever_its_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = "plain-looking-observer-secret-4711"
    monkeypatch.setenv("DRILL_GRAPH_PATH", held)
    register_secret(held)
    try:
        code, out, err, path = _check(tmp_path, custom("https://graph.sim.test/${DRILL_GRAPH_PATH}"))
    finally:
        forget_secrets()
    assert code == 2
    assert err.startswith(
        f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: "
        "the environment variable expanded here holds a secret"
    )
    assert held not in out + err


@pytest.mark.parametrize("name", ["DRILL_OBSERVER_SECRET", "DRILL_KEY_PIN", "DRILL_PROXY_PASSWORD"])
def test_drill_names_that_say_secret_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "graph-path")
    code, out, err, path = _check(tmp_path, custom(f"https://graph.sim.test/${{{name}}}"))
    assert code == 2
    assert err.startswith(
        f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: ${{{name}}} names a secret"
    )
    assert "graph-path" not in out + err


def test_the_observers_secret_variable_is_refused_whatever_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_OBS", "opaque-observer-value")
    text = custom("https://graph.sim.test/${DRILL_OBS}").replace(
        "  kind: managed-identity",
        "  kind: client-secret-env\n"
        "  client_id: 6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02\n"
        "  client_secret_env: DRILL_OBS",
    )
    code, out, err, path = _check(tmp_path, text)
    assert code == 2
    assert err.startswith(
        f"error: {path}:7:23: tenant.cloud.custom.graph_endpoint: ${{DRILL_OBS}} names a secret"
    )
    assert "opaque-observer-value" not in out + err


def test_drill_variables_still_expand_and_print(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_SIM_PORT", "48213")
    code, out, err, _ = _check(tmp_path, custom("https://graph.sim.test:${DRILL_SIM_PORT}"))
    assert code == 0, err
    assert "graph_endpoint: https://graph.sim.test:48213" in out
