"""Step: the real browser sign-in with the key (being wired to drill/browser)."""

from __future__ import annotations

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext

NAME, TITLE = "signin", "Browser sign-in with the passkey"


async def run(ctx: DrillContext) -> StepResult:
    return StepBuilder(NAME, TITLE).error("the browser sign-in is not wired yet")
