"""Live drills show the browser by default (the operator is at the key); the demo playbook asks for headless;
a machine without a display falls back to headless and says so."""

from __future__ import annotations

import sys

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.browser.locate import choose_headless


def test_command_line_headed_wins() -> None:
    assert choose_headless(True, headed=True, env={})[0] is False


@pytest.mark.parametrize("configured", [True, False])
def test_the_playbook_decides_when_it_says(configured: bool) -> None:
    headless, why = choose_headless(configured, headed=False, env={})
    assert headless is configured
    assert "in the playbook" in why


def test_unset_means_headed_where_there_is_a_display() -> None:
    headless, why = choose_headless(None, headed=False, env={"DISPLAY": ":0"})
    assert headless is False
    assert "operator" in why


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is for X11/Wayland")
def test_unset_without_a_display_is_headless_and_says_why() -> None:
    headless, why = choose_headless(None, headed=False, env={})
    assert headless is True
    assert "no display" in why


def test_the_demo_playbook_stays_headless() -> None:

    from drill.playbook import load_playbook

    demo = DEMO_PLAYBOOK
    pb = load_playbook(demo, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(demo)})
    assert pb.browser.headless is True
