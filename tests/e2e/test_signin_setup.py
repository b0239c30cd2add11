"""The drill app's setup failures in real Chromium: each ends the sign-in at once, naming Microsoft's code
and the administrator's fix, and the driver never clicks through a consent prompt.

Driver only (no preflight runs here: this is what a drill meets when preflight did not catch the setup),
on one simulator for the module, shared with the variants' fixture.
"""

from __future__ import annotations

import shutil
import time

import pytest
from test_signin_variants import DRILL_APP, FAST_FAIL_S, REDIRECT, World, run, world  # noqa: F401 (the module's simulator fixture)

from drill.sim.faults import apply_fault

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]


def test_an_unconsented_drill_app_ends_at_the_consent_page_naming_the_fix(world: World) -> None:  # noqa: F811
    """Issue 23's acceptance: with preflight skipped, the sign-in ends at the consent page naming the fix."""
    world.reset()
    apply_fault(world.sim.state, "drill-app-unconsented")
    started = time.monotonic()
    outcome, bridge = run(world)
    assert not outcome.ok
    assert time.monotonic() - started < FAST_FAIL_S + 10
    assert outcome.page == "consent"
    assert outcome.sequence()[-1]["view"] == "consent"
    assert "'Permissions requested'" in outcome.reason
    assert outcome.fix is not None
    assert "Grant admin consent for <tenant>" in outcome.fix
    assert f"adminconsent?client_id={DRILL_APP}" in outcome.reason
    assert "User.Read" in outcome.reason  # the permission to grant, by name
    assert "never accepts the prompt" in outcome.reason
    # The key was used (consent comes after the credential), and nothing was granted by the driver.
    assert [c["result"] for c in bridge.ceremonies] == ["ok"]
    assert world.sim.state.tenant.application(DRILL_APP)["delegatedScopes"] == []
    assert [r.result_type for r in world.sim.state.signins] == ["65001"]


@pytest.mark.parametrize(
    ("fault", "code", "says", "key_used"),
    [
        ("drill-app-redirect-uri-missing", 50011, f"register the redirect URI '{REDIRECT}'", False),
        ("drill-app-unknown", 700016, f"the app id {DRILL_APP} is not registered in tenant", False),
        ("drill-app-assignment-required", 50105, "Users and groups > Add user/group", True),
        ("drill-app-admin-consent-required", 90094, "may not consent itself", True),
    ],
)
def test_setup_errors_end_the_sign_in_with_code_and_fix(
    world: World,  # noqa: F811
    fault: str,
    code: int,
    says: str,
    key_used: bool,
) -> None:
    world.reset()
    apply_fault(world.sim.state, fault)
    started = time.monotonic()
    outcome, bridge = run(world)
    assert not outcome.ok
    assert time.monotonic() - started < FAST_FAIL_S + 10
    assert outcome.page == "ConvergedError"
    assert outcome.error_code == code, outcome.reason
    assert f"AADSTS{code}" in outcome.reason
    assert outcome.fix is not None, outcome.reason
    assert says in outcome.fix, outcome.reason
    assert bool(bridge.ceremonies) is key_used  # an app the tenant cannot use is refused before the key
