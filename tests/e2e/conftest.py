"""A small HTTPS site for browser tests: two real-looking host names on loopback, trusted by SPKI pin.

Like the simulator's server: a trustme leaf for `rp.test` and `other.test`, Chromium told to resolve both to
our port (`--host-resolver-rules`) and to accept the leaf (`--ignore-certificate-errors-spki-list`), so the
pages are secure contexts where WebAuthn is allowed. Pages are registered per test: path -> HTML.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

HOSTS = ("rp.test", "other.test")


@dataclass
class Site:
    port: int
    chromium_args: list[str]
    pages: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)  # "host path" of each request served

    def url(self, host: str, path: str) -> str:
        return f"https://{host}{path}"


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(f"{self.headers.get('Host', '')} {self.path}")
            path, _, query = self.path.partition("?")
            if path == "/302":  # /302?to=URL: the redirect that carries a code back to an app
                self.send_response(302)
                self.send_header("Location", parse_qs(query)["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = site.pages.get(path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            site.requests.append(f"{self.headers.get('Host', '')} {self.path} POST")
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("site")
    ca = trustme.CA()
    leaf = ca.issue_cert(*HOSTS)
    pem = folder / "leaf.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(pem))
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(pem))
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    rules = ", ".join(f"MAP {h}:443 127.0.0.1:{port}" for h in HOSTS)
    result = Site(port, [f"--host-resolver-rules={rules}", f"--ignore-certificate-errors-spki-list={pin}"])
    server.RequestHandlerClass = _handler(result)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield result
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def site_browser(site: Site) -> Iterator[Any]:
    """One Chromium resolving the site's hosts, a fresh context per test (tests/e2e/e2e_support.py)."""
    from e2e_support import SharedChromium

    browser = SharedChromium(site.chromium_args)
    try:
        yield browser
    finally:
        browser.close()
