"""Issue 16's end-to-end acceptance: `drill demo`'s drill (real Chromium, the simulated tenant) files its
signed bundle to a folder and to the simulator's SharePoint; both copies verify with `drill verify` against
the pinned key and the ledger, and both receipts are signed ledger lines. Nothing is mocked.

The same drill carries issue 28's drill-level acceptance (no drill of its own): the card in the demo state
folder (the keys' storage location) was printed before a playbook change, the demo operator reads its code
at the confirmations, and the stale card is a finding in the report and in the signed ledger line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drill.cli import app
from drill.evidence import ledger
from drill.evidence.bundle import BundleWriter
from drill.evidence.card import build_card
from drill.evidence.card_print import write_card
from drill.evidence.filing import receipts
from drill.evidence.signing import Signer
from drill.run.demo import DEMO_PLAYBOOK, DEMO_SEAL, build_context, demo_drill, demo_world
from drill.run.demo_cards import DEMO_CARDS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_files_to_a_folder_and_sharepoint_and_both_copies_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "reports"
    signer = Signer.load(state_dir=tmp_path / "signing")
    pin = ["--trust", signer.fingerprint, "--ledger", str(out / ledger.LEDGER_NAME)]
    with demo_world(tmp_path / "state") as world:
        world.sim.state.clock.set_scale(10)  # one-minute alert rules evaluate in seconds, as in the matrix
        today = build_card(world.playbook, world.playbook.account("ea01")).code
        cards = world.state_dir / DEMO_CARDS
        (printed,) = cards.glob("card-ea01-*.html")  # the demo put today's card with the key
        printed.unlink()
        before = (
            world.playbook.model_copy(  # the playbook as it was when the card now in the safe was printed
                update={
                    "accounts": [
                        world.playbook.accounts[0].model_copy(update={"authorised_people": ["Ex Employee"]})
                    ]
                }
            )
        )
        stale = write_card(before, "ea01", cards, datetime.now(UTC).date(), pdf=None).card.code
        assert stale != today
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(out, signer, pdf=None)
        code = demo_drill(world, ctx, writer, out)
        assert writer.finished is not None
        bundle = writer.finished.path
        monkeypatch.setenv("DRILL_SIM_PORT", str(world.sim.port))
        monkeypatch.setenv("DRILL_SIM_CA", str(world.sim.ca_path))
        remote = CliRunner().invoke(
            app, ["verify", "--sharepoint", bundle.name, "--playbook", str(DEMO_PLAYBOOK), *pin]
        )
    assert code == 0
    record = json.loads((bundle / "report.json").read_text())
    assert record["verdict"] == "PASS", record["reason"]
    assert record["operator"]["name"] == "Demo Operator"
    assert record["witness"] == "Demo Witness"
    assert [c["confirmed"] for c in record["confirmations"]] == [True, True, False]
    assert DEMO_SEAL in record["confirmations"][0]["detail"]
    card = record["confirmations"][2]
    assert (card["id"], card["value"], card["expected"]) == ("emergency_card_current", stale, today)
    reprint = f"drill card {DEMO_PLAYBOOK} --account ea01"
    (finding,) = [f for f in record["findings"] if f["step"] == "confirmations"]
    assert finding["title"] == "The emergency card in the storage location is out of date"
    assert reprint in finding["detail"]
    assert reprint in (bundle / "report.html").read_text()
    (line,) = ledger.read_entries(out / ledger.LEDGER_NAME, kind=ledger.KIND_DRILL)
    assert line["card"] == {"status": "stale", "entered": stale, "expected": today}
    assert (line["operator"], line["witness"]) == ("Demo Operator", "Demo Witness")
    assert {c["id"] for c in record["controls"]} >= {"1.1.2", "2.2.1", "AC-2", "CP-4", "A.5.30", "CC7.5"}
    assert remote.exit_code == 0, remote.output
    assert "receipt:" in remote.output
    folder = CliRunner().invoke(app, ["verify", str(tmp_path / "reports-filed" / bundle.name), *pin])
    assert folder.exit_code == 0, folder.output
    assert "receipt:" in folder.output
    got = receipts(out / ledger.LEDGER_NAME, bundle.name)
    assert sorted(r["destination"].split(" ", 1)[0] for r in got) == ["SharePoint", "folder"]
    assert {r["manifest_sha256"] for r in got} == {writer.finished.manifest_sha256}
    assert ledger.verify(out / ledger.LEDGER_NAME, {signer.fingerprint}).ok
