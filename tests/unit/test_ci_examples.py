"""The keyless CI examples (examples/ci): daily `drill audit` and `drill schedule run --once` as the observer
through workload identity federation (no secret signs in), the evidence and its ledger kept from run to
run, a finding failing the run. The GitHub workflow is linted by actionlint when it is installed (the dev
extra ships it; `make lint` runs it too)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
AZURE = CI / "azure-pipelines.yml"


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"
    return shutil.which("actionlint") or (str(beside) if beside.exists() else None)


def test_actionlint_finds_nothing_in_the_github_workflow() -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (the dev extra puts one in the venv)")
    done = subprocess.run(
        [binary, "-no-color", str(GITHUB)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _scripts(doc: Any) -> str:
    """Every shell script of the file, joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"run", "script", "bash", "inlineScript"} and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    return "\n".join(found)


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-devops"])
def test_daily_keyless_checks_that_fail_on_a_finding_and_keep_the_evidence(path: Path) -> None:
    doc = _load(path)
    text = path.read_text(encoding="utf-8")
    crons = re.findall(r'cron: "(\S+ \S+ \* \* \*)"', text)
    assert crons, "a daily schedule"
    scripts = _scripts(doc)
    assert re.search(r'drill audit "\$PLAYBOOK"', scripts)
    assert re.search(r'drill schedule run "\$PLAYBOOK" --once', scripts)
    assert "|| true" not in "\n".join(
        line for line in scripts.splitlines() if line.lstrip().startswith("drill ")
    ), "a finding must fail the run"
    # No secret signs in: the observer's federated token, written for the job only and removed.
    assert "AZURE_FEDERATED_TOKEN_FILE" in text
    assert not re.search(r"client_secret|CLIENT_SECRET|servicePrincipalKey", text)
    assert 'rm -f "$AZURE_FEDERATED_TOKEN_FILE"' in scripts
    # The evidence folder (with ledger.jsonl) and the scheduler state leave the job as one artifact.
    assert "reports" in scripts
    assert "breakglass-drill-evidence" in text


def test_the_github_job_gets_an_oidc_token_and_keeps_evidence_even_on_a_finding() -> None:
    doc = _load(GITHUB)
    assert doc["permissions"]["id-token"] == "write"
    steps = doc["jobs"]["keyless"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    assert "audience=api://AzureADTokenExchange" in _scripts(doc)


def test_the_azure_pipeline_asks_for_a_fresh_federated_token_for_the_service_connection() -> None:
    doc = _load(AZURE)
    step = next(s for s in doc["steps"] if "drill audit" in str(s.get("bash", "")))
    assert step["env"] == {"SYSTEM_ACCESSTOKEN": "$(System.AccessToken)"}
    script = step["bash"]
    # azure-identity's AzurePipelinesCredential asks the same endpoint the same way.
    assert (
        "${SYSTEM_OIDCREQUESTURI%/}?api-version=7.1&serviceConnectionId=$(OBSERVER_CONNECTION_ID)" in script
    )
    assert '["oidcToken"]' in script
    assert "AzureCLI@2" not in [s.get("task") for s in doc["steps"]]
    publish = next(s for s in doc["steps"] if "publish" in s)
    assert publish["condition"] == "always()"
    restore = next(s for s in doc["steps"] if s.get("task") == "DownloadPipelineArtifact@2")
    assert restore["inputs"]["allowFailedBuilds"] is True
