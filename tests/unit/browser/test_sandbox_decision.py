"""Issue 17 item 8: Chromium keeps its sandbox; only root loses it (Chromium refuses its sandbox as root,
in a container or not: checked on this machine's Debian chromium), and the record says which, and why.

The rule is tested at its seam (euid, container markers); the drill's browser, the PDF renderer and the
record all read the same decision.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drill.browser import launch
from drill.browser.launch import (
    NO_SANDBOX,
    QUIET_FLAGS,
    chromium_flags,
    decide_sandbox,
    detect_container,
    sandbox_decision,
)


@pytest.mark.parametrize("container", [None, "/.dockerenv", "container=podman"])
@pytest.mark.parametrize("euid", [1000, 65534, 1])
def test_a_normal_user_always_keeps_the_sandbox(euid: int, container: str | None) -> None:
    decision = decide_sandbox(euid, container)
    assert decision.enabled
    assert NO_SANDBOX not in chromium_flags(decision)


def test_the_flag_list_itself_never_drops_the_sandbox() -> None:
    assert NO_SANDBOX not in QUIET_FLAGS


def test_root_in_a_container_drops_it_and_says_why() -> None:
    decision = decide_sandbox(0, "/.dockerenv")
    assert not decision.enabled
    assert "root" in decision.reason
    assert "/.dockerenv" in decision.reason
    assert chromium_flags(decision)[0] == NO_SANDBOX
    assert decision.evidence() == {"enabled": False, "reason": decision.reason}


def test_root_outside_a_container_drops_it_too_and_says_so() -> None:
    decision = decide_sandbox(0, None)
    assert not decision.enabled
    assert "outside any container" in decision.reason
    assert NO_SANDBOX in chromium_flags(decision)


def test_windows_has_no_euid_and_keeps_the_sandbox() -> None:
    assert decide_sandbox(None, None).enabled


def test_container_markers(tmp_path: Path) -> None:
    marker = tmp_path / ".dockerenv"
    cgroup = tmp_path / "cgroup"
    cgroup.write_text("0::/\n")
    assert detect_container([marker], env={}, cgroup=cgroup) is None
    marker.touch()
    assert detect_container([marker], env={}, cgroup=cgroup) == str(marker)
    assert detect_container([], env={"container": "podman"}, cgroup=cgroup) == "container=podman"
    cgroup.write_text("12:pids:/docker/3f2a\n")
    assert "docker" in (detect_container([], env={}, cgroup=cgroup) or "")
    assert detect_container([], env={}, cgroup=tmp_path / "absent") is None


def test_this_process_decides_from_its_euid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch.os, "geteuid", lambda: 1000, raising=False)
    assert sandbox_decision().enabled
    assert NO_SANDBOX not in chromium_flags()
    monkeypatch.setattr(launch.os, "geteuid", lambda: 0, raising=False)
    assert not sandbox_decision().enabled
    assert NO_SANDBOX in chromium_flags()


def test_the_pdf_renderer_uses_the_same_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.evidence import pdf

    assert pdf.chromium_flags is chromium_flags
    assert tuple(pdf.CHROMIUM_ARGS) == chromium_flags()  # this process's decision, taken once at import
    monkeypatch.setattr(launch.os, "geteuid", lambda: 1000, raising=False)
    assert NO_SANDBOX not in pdf.chromium_flags()


def test_the_record_holds_the_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.run.orchestrator import workstation

    monkeypatch.setattr(launch.os, "geteuid", lambda: 1000, raising=False)
    assert workstation(None)["chromium_sandbox"] == {
        "enabled": True,
        "reason": "running as a normal user: Chromium's sandbox is on",
    }
    monkeypatch.setattr(launch.os, "geteuid", lambda: 0, raising=False)
    recorded = workstation(None)["chromium_sandbox"]
    assert isinstance(recorded, dict)
    assert recorded["enabled"] is False
    assert "root" in recorded["reason"]
