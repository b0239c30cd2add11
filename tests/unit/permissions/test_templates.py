"""The templates agree with the registry: the default drill app scopes and the example playbook's scopes
are what their features need, and the example's admin task writes where a write is allowed."""

from __future__ import annotations

from pathlib import Path

from drill.assets import EXAMPLE_PLAYBOOK
from drill.permissions import Feature, delegated_scopes, features_of
from drill.playbook import load_playbook
from drill.playbook.model import DEFAULT_SCOPES, DrillApp

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = EXAMPLE_PLAYBOOK


def test_default_scopes_are_the_registrys_for_the_default_features() -> None:
    pb = load_playbook(EXAMPLE)
    defaults = pb.model_copy(update={"drill_app": DrillApp(), "announce": None})
    assert defaults.admin_task.enabled
    assert defaults.cleanup.revoke_sessions
    assert list(DEFAULT_SCOPES) == delegated_scopes(features_of(defaults))
    assert DrillApp().scopes == list(DEFAULT_SCOPES)


def test_the_example_asks_for_what_its_features_need() -> None:
    pb = load_playbook(EXAMPLE)
    features = features_of(pb, scheduler=True)
    assert {Feature.ADMIN_TASK, Feature.REVOKE, Feature.ANNOUNCE} <= features
    assert pb.drill_app.scopes == delegated_scopes(features)
    assert pb.admin_task.target == "canary-group"
