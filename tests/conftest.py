"""Top-level test options: tests needing a physical key or a real tenant run only when asked for.

- ``pytest --device``: run tests/device (a FIDO2 key must be plugged in).
- ``pytest --live PLAYBOOK``: run tests/live against the tenant that playbook describes.
Both are skipped otherwise, so `make test` on any machine runs everything that can run there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
# Test folders have no __init__.py, so pytest puts each one on sys.path; a folder named like the package
# (tests/unit/drill/) would then shadow `drill` as a namespace package whenever the repository root is not
# on sys.path (the `pytest` script, unlike `python -m pytest`). Put the root first so `drill` is the package.
if str(TESTS.parent) not in sys.path:
    sys.path.insert(0, str(TESTS.parent))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("breakglass-drill")
    group.addoption(
        "--device", action="store_true", default=False, help="run tests that need a physical FIDO2 key"
    )
    group.addoption(
        "--live", metavar="PLAYBOOK", default=None, help="run live tests against this tenant playbook"
    )


def _under(item: pytest.Item, folder: str) -> bool:
    return (TESTS / folder) in Path(str(item.path)).parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    device = config.getoption("--device")
    live = config.getoption("--live")
    skip_device = pytest.mark.skip(reason="needs a physical FIDO2 key: run with --device")
    skip_live = pytest.mark.skip(reason="needs a real tenant: run with --live PLAYBOOK")
    for item in items:
        if not device and (_under(item, "device") or item.get_closest_marker("device")):
            item.add_marker(skip_device)
        if not live and (_under(item, "live") or item.get_closest_marker("live")):
            item.add_marker(skip_live)


@pytest.fixture(scope="session")
def live_playbook(request: pytest.FixtureRequest) -> Path:
    """The playbook given with --live (tests using it are skipped without one)."""
    value = request.config.getoption("--live")
    if not value:
        pytest.skip("needs a real tenant: run with --live PLAYBOOK")
    return Path(value)
