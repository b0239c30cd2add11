"""compare-pack's judgement on synthetic packs: a belief's forms as the simulator serves them, a pack's shape,
and the verdict (matches the default, confirms a served form, refutes the belief, not seen)."""

from __future__ import annotations

from typing import Any

import pytest

from drill.sim import compare

FLAT = {"id": "id#aaaa", "properties": {"context": {"condition": {"windowStartTime": "datetime"}}}}
NESTED = {
    "id": "id#bbbb",
    "properties": {"context": {"context": {"condition": {"windowStartTime": "datetime"}}}},
}
OTHER = {"id": "id#cccc", "properties": {"context": {"alertContext": {}}}}
MAIL = {"subject": "Fired : Sev <v>", "content_type": "html", "labels": ["Alert rule", "Window start time"]}
BARE = {**MAIL, "labels": ["Alert rule"]}


def _doc(instances: list[Any], mails: list[Any]) -> dict[str, Any]:
    return {"format": "x", "pages": [], "arm": {"alertInstance": instances}, "mail": mails, "logs": {}}


PER_FORM = {
    "condition": {"flat": _doc([FLAT], [MAIL]), "nested": _doc([NESTED], [MAIL])},
    "template": {"full": _doc([FLAT], [MAIL]), "no-window": _doc([FLAT], [BARE])},
}
DECLARED = {"condition": ["flat", "nested"], "template": ["full", "no-window"]}


@pytest.mark.parametrize(
    ("instance", "mail", "want"),
    [
        (FLAT, MAIL, {"condition": ("matches", "flat"), "template": ("matches", "full")}),
        (NESTED, MAIL, {"condition": ("confirms", "nested"), "template": ("matches", "full")}),
        (OTHER, BARE, {"condition": ("refutes", None), "template": ("confirms", "no-window")}),
        # Only the paths a belief's forms change are its to judge: without the window label this is the
        # no-window form; the missing "Alert rule" label is listed as a difference, not blamed on a belief.
        (
            FLAT,
            {**MAIL, "labels": []},
            {"condition": ("matches", "flat"), "template": ("confirms", "no-window")},
        ),
    ],
)
def test_each_belief_is_judged_on_the_sections_its_forms_change(instance: Any, mail: Any, want: Any) -> None:
    found = {
        f.belief: (f.verdict, f.form) for f in compare.judge(_doc([instance], [mail]), DECLARED, PER_FORM)
    }
    assert found == want


def test_a_belief_only_declared_by_one_branch_is_the_only_one_judged() -> None:
    findings = compare.judge(_doc([NESTED], [MAIL]), {"template": DECLARED["template"]}, PER_FORM)
    assert [f.belief for f in findings] == ["template"]


def test_a_pack_without_the_section_is_not_seen() -> None:
    (finding,) = compare.judge(_doc([], []), {"condition": DECLARED["condition"]}, PER_FORM)
    assert finding.verdict == "not seen"


def test_static_beliefs_read_pages_and_rows() -> None:
    pack = _doc([], [])
    pack["pages"] = [{"pgid": "ConvergedSignIn", "view": "fido"}]
    pack["logs"] = {"SigninLogs": {"order": "0=50140", "user_principal_name": "other"}}
    declared = {k: list(v[1]) for k, v in compare.STATIC.items()}
    found = {f.belief: (f.verdict, f.form) for f in compare.judge(pack, declared, {})}
    assert found == {
        "kmsi-prompt": ("confirms", "hidden"),
        "kmsi-row-offset": ("confirms", "same-instant"),
        "signin-row-upn": ("refutes", None),
        "audit-modified-values": ("not seen", None),  # the pack holds no AuditLogs row
    }


def test_differences_name_each_path_and_ignore_the_hash_salt() -> None:
    pack, reference = _doc([NESTED], [BARE]), _doc([{**FLAT, "id": "id#ffff"}], [MAIL])
    lines = compare.differences(pack, reference)
    assert (
        "arm.alertInstance.properties.context.context.condition.windowStartTime: datetime in the pack, "
        "absent in the simulator" in lines
    )
    assert "mail[0].labels[Window start time]: absent in the pack, present in the simulator" in lines
    assert not any(".id:" in line for line in lines)
    assert compare.differences(reference, _doc([FLAT], [MAIL, BARE])) == []  # a mail the pack lacks is timing


def test_a_change_one_belief_makes_is_not_blamed_on_another_belief_of_the_same_item() -> None:
    """The alert instance carries two beliefs: where the condition sits, and what alertRule holds."""
    by_name = {**FLAT, "properties": {**FLAT["properties"], "essentials": {"alertRule": "string"}}}
    by_id = {**FLAT, "properties": {**FLAT["properties"], "essentials": {"alertRule": "id#1"}}}
    nested_by_id = {**NESTED, "properties": {**NESTED["properties"], "essentials": {"alertRule": "id#2"}}}
    per_form = {
        "condition": {"flat": _doc([by_id], [MAIL]), "nested": _doc([nested_by_id], [MAIL])},
        "rule-ref": {"arm-id": _doc([by_id], [MAIL]), "rule-name": _doc([by_name], [MAIL])},
    }
    declared = {"condition": ["flat", "nested"], "rule-ref": ["arm-id", "rule-name"]}
    pack = _doc(
        [
            {
                **nested_by_id,
                "properties": {**nested_by_id["properties"], "essentials": {"alertRule": "string"}},
            }
        ],
        [],
    )
    found = {f.belief: (f.verdict, f.form) for f in compare.judge(pack, declared, per_form)}
    assert found == {"condition": ("confirms", "nested"), "rule-ref": ("confirms", "rule-name")}
    pack = _doc([{**OTHER, "properties": {**OTHER["properties"], "essentials": {"alertRule": "id#9"}}}], [])
    found = {f.belief: (f.verdict, f.form) for f in compare.judge(pack, declared, per_form)}
    assert found == {"condition": ("refutes", None), "rule-ref": ("matches", "arm-id")}
