"""Client data for one ceremony: the origin comes from the browser frame, never from page data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fido2.client import ClientDataCollector
from fido2.webauthn import (
    CollectedClientData,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions,
)

from drill.keys.rpid import check_rp_id, normalise_origin, origin_host


class OriginCollector(ClientDataCollector):
    """Collects client data for the origin of this call and refuses RP IDs it may not use."""

    def __init__(self, origin: str, related_origins: Mapping[str, Sequence[str]]) -> None:
        self.origin = normalise_origin(origin)
        self._related = related_origins

    def collect_client_data(
        self, options: PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions
    ) -> tuple[CollectedClientData, str]:
        if isinstance(options, PublicKeyCredentialCreationOptions):
            rp_id, kind = options.rp.id, CollectedClientData.TYPE.CREATE
        else:
            rp_id, kind = options.rp_id, CollectedClientData.TYPE.GET
        rp_id = rp_id or origin_host(self.origin)
        check_rp_id(rp_id, self.origin, self._related)
        client_data = CollectedClientData.create(
            type=kind, origin=self.origin, challenge=options.challenge, cross_origin=False
        )
        return client_data, rp_id
