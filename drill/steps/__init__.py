"""One module per drill step; each is `async def run(ctx) -> StepResult` and testable alone."""
