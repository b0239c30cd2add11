"""Serve the simulated tenant over HTTPS on loopback, in-process (tests, demo) or from `drill sim serve`.

One port serves every service; routes are path-disjoint as Microsoft's are across hosts. Python clients
use https://127.0.0.1:PORT; Chromium sees Entra-like host names (state.BROWSER_HOSTS) mapped to the same
port with host-resolver rules and trusts the leaf by its SPKI hash, so the page is a secure context.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import threading
import time
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette

from drill.sim import control
from drill.sim.arm import routes as arm
from drill.sim.arm import workspaces as arm_workspaces
from drill.sim.arm import writes as arm_writes
from drill.sim.clock import SimClock
from drill.sim.graph import router as graph
from drill.sim.identity import routes as identity
from drill.sim.loganalytics import alerts, sentinel
from drill.sim.loganalytics import workspace as loganalytics
from drill.sim.state import BROWSER_HOSTS, SimState
from drill.sim.tenant import Tenant, load_tenant


def build_app(state: SimState) -> Starlette:
    routes = []
    for module in (control, identity, graph, loganalytics, alerts, sentinel, arm_workspaces, arm, arm_writes):
        routes.extend(module.install(state))
    for box in state.tenant.mailboxes:
        state.mail.create_box(str(box["address"]))
    app = Starlette(routes=routes)
    app.add_middleware(_ServiceDate, state=state)
    return app


class _ServiceDate:
    """Every response's `Date` header is the service's clock (the simulator clock), as a real service's is.

    A client measures its clock skew from it; uvicorn's own Date (the host's real clock) is switched off.
    """

    def __init__(self, app: Any, state: SimState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.state.clock.now().timestamp(), usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, stamped)


class SimServer:
    """Start with `with SimServer(tenant, state_dir) as sim:`; stops and joins its threads on exit."""

    def __init__(
        self,
        tenant: Tenant | Path,
        state_dir: Path,
        *,
        clock_scale: float = 1.0,
        port: int = 0,
        tick_seconds: float = 0.2,
    ) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        loaded = load_tenant(tenant) if isinstance(tenant, Path) else tenant
        self.state = SimState(tenant=loaded, clock=SimClock(scale=clock_scale), state_dir=state_dir)
        self._requested_port = port
        self._tick_seconds = tick_seconds
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self.port = 0
        self._tls()

    # -- TLS ------------------------------------------------------------------------------------------
    def _tls(self) -> None:
        ca = trustme.CA(organization_name="breakglass-drill simulator")
        leaf = ca.issue_cert("127.0.0.1", "localhost", *BROWSER_HOSTS)
        self.ca_path = self.state_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        self._leaf_path = self.state_dir / "server.pem"
        leaf.private_key_and_cert_chain_pem.write_to_path(str(self._leaf_path))
        self._leaf_path.chmod(0o600)
        cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.spki_sha256 = base64.b64encode(hashlib.sha256(spki).digest()).decode()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def browser_url(self, host: str) -> str:
        """URL of a browser-side host; port 443 in the URL, mapped to our port by the resolver rules."""
        return f"https://{host}"

    @property
    def chromium_args(self) -> list[str]:
        rules = ", ".join(f"MAP {h}:443 127.0.0.1:{self.port}" for h in BROWSER_HOSTS)
        return [
            f"--host-resolver-rules={rules}",
            f"--ignore-certificate-errors-spki-list={self.spki_sha256}",
        ]

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> SimServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        self.port = sock.getsockname()[1]
        self.state.base_url = self.base_url
        app = build_app(self.state)
        config = uvicorn.Config(
            app,
            ssl_certfile=str(self._leaf_path),
            ssl_keyfile=str(self._leaf_path),
            log_level="critical",  # shutdown chatter would reach the operator's terminal
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,  # kept-alive clients must not hold a test for 10 s
            date_header=False,  # _ServiceDate stamps the simulator clock instead
        )
        self._server = uvicorn.Server(config)
        server = self._server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name="sim-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.02)
        self._ticker = threading.Thread(target=self._tick_loop, name="sim-ticker", daemon=True)
        self._ticker.start()
        return self

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            with contextlib.suppress(Exception):
                self.state.tick()

    def stop(self) -> None:
        self._stop.set()
        self.state.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in (self._thread, self._ticker):
            if thread is not None:
                thread.join(timeout=10)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
