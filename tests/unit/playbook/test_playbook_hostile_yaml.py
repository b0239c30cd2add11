"""Hostile YAML (issue 17, item 12): tags that ask the loader to build objects, and alias bombs.

Each file goes through the real `drill playbook check`: a tag must give `file:line:col` and exit 2, never a
TypeError traceback (exit 1); an alias bomb must be refused at its first anchor, while parsing, before any
alias is expanded, so the secret scan never walks millions of copies.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from cli_support import run_cli
from playbook_support import BASE, edit, write_playbook

from drill.errors import DrillUserError
from drill.playbook import load_playbook

# (id, text, "line:col" of the tag, the tag as the message shows it)
TAGGED: list[tuple[str, str, str, str]] = [
    # The one that crashed with `TypeError: cannot unpack non-iterable NoneType object`, exit 1.
    ("python-apply", "tenant: !!python/object/apply:os.system [echo hi]\n", "1:9", "!!python/object/apply"),
    ("python-object", edit(sub={9: "    key: !!python/object:os.system"}), "9:10", "!!python/object:os"),
    ("python-name", edit(sub={2: "  id: !!python/name:os.system"}), "2:7", "!!python/name:os.system"),
    ("local-tag", edit(sub={11: "      label: !custom BG-1"}), "11:14", "!custom"),
    ("binary", edit(sub={11: "      label: !!binary QkctMQ=="}), "11:14", "!!binary"),
    ("set", edit(sub={14: "    authorised_people: !!set {Alice, Bob}"}), "14:24", "!!set"),
    ("tagged-key", edit(ins={42: "? !!python/tuple [a, b]\n: 1"}), "43:3", "!!python/tuple"),
    (
        "tag-directive",
        "%TAG !e! tag:evil.test,2026:\n---\n" + edit(sub={11: "      label: !e!thing BG-1"}),
        "13:14",
        "tag:evil.test,2026:thing",
    ),
]


@pytest.mark.parametrize(("text", "where", "shown"), [c[1:] for c in TAGGED], ids=[c[0] for c in TAGGED])
def test_tags_are_refused_with_file_line_col_and_exit_2(
    tmp_path: Path, text: str, where: str, shown: str
) -> None:
    path = write_playbook(tmp_path, text)
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2, err
    assert err.startswith(f"error: {path}:{where}: YAML tag `{shown}"), err
    assert "remove the tag" in err
    assert "Traceback" not in err + out
    assert err.count("\n") == 1  # one clear line, no cascade of follow-on errors


def test_core_tags_still_load(tmp_path: Path) -> None:
    """`!!str` and friends build what the plain value would: refusing them would only annoy."""
    text = edit(sub={11: "      label: !!str 1234", 38: "  cycle_days: !!int 90"})
    pb = load_playbook(write_playbook(tmp_path, text))
    assert pb.accounts[0].key.label == "1234"
    assert pb.schedule.cycle_days == 90


def _billion_laughs() -> str:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]" for i in range(1, 10)]
    return BASE + "\n".join(lines) + "\n"  # 10**10 strings once expanded


def test_billion_laughs_is_refused_at_its_first_anchor(tmp_path: Path) -> None:
    path = write_playbook(tmp_path, _billion_laughs())
    code, out, err = run_cli("playbook", "check", str(path))
    assert code == 2
    assert err == (
        f"error: {path}:43:7: YAML anchor `&lol0` refused: a playbook uses no anchors or aliases; "
        "remove it and write repeated values out in full\n"
    )
    assert out == ""


def test_wide_alias_expansion_is_refused_before_the_secret_scan_walks_it(tmp_path: Path) -> None:
    """One 400 kB string, aliased 45,000 times: 18 GB of text for the secret scan, in a 0.5 MB file.

    Before the fix this ran for minutes at a gigabyte. Refused while parsing, it allocates next to nothing;
    the memory bound proves no expansion happened without timing anything.
    """
    blob = "A" * 400_000
    text = f'blob: &b "{blob}"\nwide: [{", ".join(["*b"] * 45_000)}]\n'
    path = write_playbook(tmp_path, text)
    assert path.stat().st_size < 1_000_000  # under the loader's size cap: the cap is not what stops it
    tracemalloc.start()
    try:
        code, _, err = run_cli("playbook", "check", str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 2
    assert err.startswith(f"error: {path}:1:7: YAML anchor `&b` refused")
    assert peak < 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("tenant: *nowhere\n", "1:9", "YAML alias `*nowhere` refused"),
        (edit(sub={11: "      label: &l BG-1", 20: "      label: *l"}), "11:14", "YAML anchor `&l` refused"),
        (
            edit(ins={42: "base: &base {revoke_sessions: true}\nmore:\n  <<: *base"}),
            "43:7",
            "YAML anchor `&base` refused",
        ),
    ],
    ids=["alias-without-anchor", "anchor-on-a-scalar", "merge-key"],
)
def test_every_anchor_and_alias_is_refused(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = write_playbook(tmp_path, text)
    with pytest.raises(DrillUserError) as info:
        load_playbook(path)
    assert str(info.value).startswith(f"{path}:{where}: {what}")
    assert info.value.exit_code == 2
