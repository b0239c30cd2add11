"""Graph and ARM requests with the administrator's tokens: one small client, errors as `CallError`.

httpx over the cloud's endpoints with the CA we were told to trust; a 403 becomes a `CallError` whose text
names the call, so `drill setup` can say which role was missing instead of a traceback.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from drill.clouds import Cloud
from drill.setup.admin import AdminSession

ARM_API = {
    "roleAssignments": "2022-04-01",
    "scheduledQueryRules": "2023-12-01",
    "actionGroups": "2023-01-01",
    "diagnosticSettings": "2017-04-01",
    "workspaces": "2022-10-01",
}


RETRIES = 4
RETRY_STATUS = (429, 503, 504)


class CallError(Exception):
    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Api:
    session: AdminSession
    cloud: Cloud
    _http: Any = field(default=None, repr=False)

    def _client(self) -> Any:
        """One kept-alive client for the whole plan or apply (one TLS handshake, not one per call)."""
        import httpx

        if self._http is None:
            ctx = ssl.create_default_context(cafile=self.cloud.ca_bundle) if self.cloud.ca_bundle else True
            self._http = httpx.Client(verify=ctx, trust_env=False, timeout=60)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _send(self, base: str, token: str, method: str, path: str, body: Any, params: dict[str, str]) -> Any:
        for attempt in range(RETRIES + 1):
            r = self._client().request(
                method, base.rstrip("/") + path, json=body, params=params,
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            if r.status_code not in RETRY_STATUS or attempt == RETRIES:
                break
            # Conditional Access reads are limited to one a second per tenant, their 429s carry no
            # Retry-After (learn.microsoft.com/graph/throttling-limits): wait a little over a second then.
            time.sleep(min(float(r.headers.get("Retry-After") or 1.2), 30.0))
        if r.status_code >= 400:
            try:
                err = r.json().get("error") or {}
            except ValueError:
                err = {}
            raise CallError(
                method, path, r.status_code, str(err.get("code", "")), str(err.get("message", ""))
            )
        return r.json() if r.content else None

    def graph(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        base = self.cloud.graph_endpoint.rstrip("/") + "/v1.0"
        return self._send(base, self.session.graph_token(), method, path, body, params)

    def graph_all(self, path: str, **params: str) -> list[dict[str, Any]]:
        page = self.graph("GET", path, **params)
        out = list(page.get("value") or [])
        while page.get("@odata.nextLink"):
            link = str(page["@odata.nextLink"]).split("/v1.0", 1)[1]
            page = self.graph("GET", link)
            out += page.get("value") or []
        return out

    def arm(self, method: str, path: str, kind: str, body: Any = None, **params: str) -> Any:
        base = self.cloud.arm_endpoint or "https://management.azure.com"
        return self._send(
            base, self.session.arm_token(), method, path, body, {"api-version": ARM_API[kind], **params}
        )
