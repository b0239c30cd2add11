"""Known AAGUIDs and the model names their vendors publish.

Names are for people reading the evidence; selection is always by AAGUID. A key not listed here is
still usable, it is just shown without a model name. The demo vendors' keys are listed so the
simulated drill reads like a real one.
"""

from __future__ import annotations

import uuid

KNOWN_MODELS: dict[uuid.UUID, str] = {
    # Yubico, from the published YubiKey AAGUID list.
    uuid.UUID("cb69481e-8ff7-4039-93ec-0a2729a154a8"): "YubiKey 5 Series",
    uuid.UUID("ee882879-721c-4913-9775-3dfcce97072a"): "YubiKey 5 Series",
    uuid.UUID("fa2b99dc-9e39-4257-8f92-4a30d23c4118"): "YubiKey 5 Series with NFC",
    uuid.UUID("2fc0579f-8113-47ea-b116-bb5a8db9202a"): "YubiKey 5 Series with NFC",
    uuid.UUID("c5ef55ff-ad9a-4b9f-b580-adebafe026d0"): "YubiKey 5Ci",
    uuid.UUID("d8522d9f-575b-4866-88a9-ba99fa02f35b"): "YubiKey Bio Series",
    uuid.UUID("149a2021-8ef6-4133-96b8-81f8d5b7f1f5"): "Security Key by Yubico with NFC",
    uuid.UUID("a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa"): "Security Key NFC by Yubico",
    # The two simulated vendors of the demo (drill/keys/vendor.py).
    uuid.UUID("d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"): "Vendor A KeyGuard 2",
    uuid.UUID("d8a1c3e2-0002-4b1d-a5e1-5a1d0000b002"): "Vendor B SecureTouch N",
}


def model_name(aaguid: uuid.UUID) -> str | None:
    """The published model name for an AAGUID, if we know it."""
    return KNOWN_MODELS.get(aaguid)
