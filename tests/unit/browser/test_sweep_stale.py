"""Issue 17 item 15: what a crashed drill left in the temp folder (a Chromium profile holds the account's
cookies; a log folder its log) is swept at the next start: only our own stale real folders, never a
symlink or what it points at, never another user's folder, never one a live process still uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drill.browser.sweep import DEMO_PREFIX, LOG_PREFIX, PROFILE_PREFIX, STALE_AFTER_S, sweep_stale

OLD = time.time() - STALE_AFTER_S - 3600


def _plant(base: Path, name: str, *, old: bool = True) -> Path:
    folder = base / name
    (folder / "Default").mkdir(parents=True)
    (folder / "Default" / "Cookies").write_text("ESTSAUTHPERSISTENT=secret")
    if old:
        os.utime(folder, (OLD, OLD))
    return folder


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    temp = tmp_path / "tmp"
    outside = tmp_path / "outside"
    temp.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    return temp, outside


def test_stale_folders_of_ours_go_fresh_ones_stay(world: tuple[Path, Path]) -> None:
    temp, _outside = world
    stale_profile = _plant(temp, f"{PROFILE_PREFIX}crashed")
    stale_log = _plant(temp, f"{LOG_PREFIX}crashed")
    fresh = _plant(temp, f"{PROFILE_PREFIX}running", old=False)
    unrelated = _plant(temp, "someone-elses-cache")
    removed = sweep_stale(temp)
    assert sorted(removed) == sorted([stale_profile, stale_log])
    assert not stale_profile.exists()
    assert not stale_log.exists()
    assert fresh.is_dir()
    assert unrelated.is_dir()


def test_a_symlink_is_neither_followed_nor_removed(world: tuple[Path, Path]) -> None:
    temp, outside = world
    link = temp / f"{PROFILE_PREFIX}planted"
    link.symlink_to(outside, target_is_directory=True)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    os.utime(outside, (OLD, OLD))
    inner = _plant(temp, f"{LOG_PREFIX}with-link")
    (inner / "escape").symlink_to(outside / "precious.txt")
    os.utime(inner, (OLD, OLD))
    removed = sweep_stale(temp)
    assert removed == [inner]
    assert link.is_symlink()
    assert (outside / "precious.txt").read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's folder needs root")
def test_another_users_folder_is_left_alone(world: tuple[Path, Path]) -> None:
    temp, _outside = world
    theirs = _plant(temp, f"{PROFILE_PREFIX}nobody")
    for path in (theirs, theirs / "Default", theirs / "Default" / "Cookies"):
        os.chown(path, 65534, 65534)
    os.utime(theirs, (OLD, OLD))
    assert sweep_stale(temp) == []
    assert theirs.is_dir()


def test_a_profile_a_live_chromium_uses_is_kept(world: tuple[Path, Path]) -> None:
    temp, _outside = world
    profile = _plant(temp, f"{PROFILE_PREFIX}in-use")
    # A process that names the profile on its command line, as Chromium does (--user-data-dir=...).
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", f"--user-data-dir={profile}"]
    )
    try:
        deadline = time.monotonic() + 10
        while f"--user-data-dir={profile}".encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert sweep_stale(temp) == []
        assert profile.is_dir()
    finally:
        proc.kill()
        proc.wait()
    assert sweep_stale(temp) == [profile]


def test_a_log_folder_with_an_open_log_is_kept(world: tuple[Path, Path]) -> None:
    temp, _outside = world
    folder = _plant(temp, f"{LOG_PREFIX}writing")
    with (folder / "log.jsonl").open("a"):
        os.utime(folder, (OLD, OLD))
        assert sweep_stale(temp) == []
    assert sweep_stale(temp) == [folder]


def test_a_missing_temp_folder_is_not_an_error(tmp_path: Path) -> None:
    assert sweep_stale(tmp_path / "absent") == []


# Issue 29, item 7: a folder records its owner process; gone means swept at once, running means kept.
def _owned_by(folder: Path, pid: int) -> None:
    from drill.browser.owner import OWNER_FILE, start_time

    (folder / OWNER_FILE).write_text(f"{pid} {start_time(pid) or 0}\n")


@pytest.mark.parametrize("prefix", [PROFILE_PREFIX, DEMO_PREFIX])
def test_a_fresh_folder_whose_owner_is_gone_goes_one_whose_owner_runs_stays(
    world: tuple[Path, Path], prefix: str
) -> None:
    temp, _ = world
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = _plant(temp, f"{prefix}running", old=True)  # old, but its owner still runs
        _owned_by(running, child.pid)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        gone = _plant(temp, f"{prefix}killed", old=False)  # minutes old: its owner is gone
        _owned_by(gone, int(dead.stdout))
        assert sweep_stale(temp) == [gone]
        assert running.is_dir()
    finally:
        child.kill()
        child.wait()
    assert sweep_stale(temp) == [running]


def test_a_reused_pid_is_not_the_owner(world: tuple[Path, Path]) -> None:
    """The owner file's start time tells the owner from a later process that got the same pid."""
    from drill.browser.owner import OWNER_FILE, start_time

    temp, _ = world
    folder = _plant(temp, f"{PROFILE_PREFIX}reused", old=False)
    me = os.getpid()
    (folder / OWNER_FILE).write_text(f"{me} {(start_time(me) or 0) + 12345}\n")
    assert sweep_stale(temp) == [folder]


def test_an_unreadable_owner_falls_back_to_the_age_rule(world: tuple[Path, Path]) -> None:
    from drill.browser.owner import OWNER_FILE

    temp, _ = world
    fresh = _plant(temp, f"{PROFILE_PREFIX}garbled", old=False)
    (fresh / OWNER_FILE).write_text("not a pid")
    assert sweep_stale(temp) == []
