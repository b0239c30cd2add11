"""Fixtures for key tests: software keys of the demo vendors and a relying party to verify them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from keys_support import PIN, RelyingParty

from drill.keys.software import SoftwareKey
from drill.keys.vendor import VENDOR_A, VendorSpec


@pytest.fixture(scope="session")
def vendor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vendors")


@pytest.fixture
def make_key(tmp_path: Path, vendor_dir: Path) -> Callable[..., SoftwareKey]:
    counter = iter(range(1000))

    def factory(vendor: VendorSpec = VENDOR_A, pin: str | None = PIN, **kwargs: Any) -> SoftwareKey:
        path = tmp_path / f"key{next(counter)}.json"
        return SoftwareKey.create_for_vendor(path, vendor, vendor_dir, pin=pin, **kwargs)

    return factory


@pytest.fixture
def key(make_key: Callable[..., SoftwareKey]) -> SoftwareKey:
    return make_key()


@pytest.fixture
def rp() -> RelyingParty:
    return RelyingParty()
