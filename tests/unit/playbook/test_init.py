"""`drill init DIR`: the commented example and its query, which `drill playbook check` accepts with only
placeholder warnings; an existing file is never overwritten unless asked."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_cli

from drill.assets import EXAMPLE_PLAYBOOK, EXAMPLE_QUERIES


def test_init_writes_a_playbook_the_check_accepts_with_only_placeholder_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "contoso"
    code, out, err = run_cli("init", str(folder))
    assert (code, err) == (0, "")
    playbook, query = folder / "playbook.yaml", folder / "queries" / "breakglass-alert.kql"
    assert f"wrote {playbook}" in out
    assert f"wrote {query}" in out
    assert playbook.read_bytes() == EXAMPLE_PLAYBOOK.read_bytes()
    assert query.read_bytes() == (EXAMPLE_QUERIES / "breakglass-alert.kql").read_bytes()
    assert playbook.read_text(encoding="utf-8").count("\n# ") > 20  # commented for the operator

    code, out, err = run_cli("playbook", "check", str(playbook))
    assert code == 0, err
    assert out.startswith(f"# {playbook}: valid")
    warnings = err.strip().splitlines()
    assert len(warnings) >= 5
    others = [w for w in warnings if "is or holds a template placeholder" not in w]
    assert others == []
    assert run_cli("playbook", "check", "--strict", str(playbook))[0] == 1  # placeholders are warnings


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "contoso"
    assert run_cli("init", str(folder))[0] == 0
    playbook = folder / "playbook.yaml"
    playbook.write_text("# edited by the operator\n", encoding="utf-8")
    (folder / "queries" / "breakglass-alert.kql").unlink()  # one missing, one there: still refused

    code, _out, err = run_cli("init", str(folder))
    assert code == 2
    assert f"{playbook}: already there; pass --force" in err
    assert "Traceback" not in err
    assert playbook.read_text(encoding="utf-8") == "# edited by the operator\n"
    assert not (folder / "queries" / "breakglass-alert.kql").exists()  # nothing written when refused

    assert run_cli("init", "--force", str(folder))[0] == 0
    assert playbook.read_bytes() == EXAMPLE_PLAYBOOK.read_bytes()
    assert (folder / "queries" / "breakglass-alert.kql").is_file()


def test_init_refuses_a_file_for_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "playbook.yaml"
    target.write_text("x", encoding="utf-8")
    code, _out, err = run_cli("init", str(target))
    assert code == 2
    assert "is a file, not a folder" in err
    assert target.read_text(encoding="utf-8") == "x"
