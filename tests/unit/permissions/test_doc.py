"""docs/PERMISSIONS.md is the registry rendered: a grant added, removed or reworded without regenerating
the page fails here."""

from __future__ import annotations

from drill.permissions import REGISTRY
from drill.permissions.doc import PAGE, main, render


def test_the_page_matches_the_registry() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "run: python -m drill.permissions.doc"
    assert main(["--check"]) == 0


def test_the_page_names_every_grant_and_how_to_grant_it() -> None:
    text = render()
    for g in REGISTRY:
        assert f"`{g.permission}`" in text
        assert g.id in text
    for needle in ("New-ManagementRoleAssignment -App", '"Application Mail.Read"', "New-ManagementScope",
                   "New-ServicePrincipal",
                   "POST https://graph.microsoft.com/v1.0/sites/<site id>/permissions",
                   "--scope /providers/Microsoft.aadiam", "adminconsent?client_id=",
                   "New-ApplicationAccessPolicy"):  # fmt: skip
        assert needle in text


def test_a_stale_page_is_caught(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from drill.permissions import doc

    stale = tmp_path / "PERMISSIONS.md"
    stale.write_text(render().replace("Mail.Send", "Mail.Send.Shared", 1), encoding="utf-8")
    monkeypatch.setattr(doc, "PAGE", stale)
    assert main(["--check"]) == 1
