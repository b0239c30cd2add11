"""A host that cannot be reached is not throttling (issue 25, case 8): real clients, real sockets.

DNS (a `.invalid` name never resolves, RFC 6761), a refused port and an untrusted TLS certificate each
surface as one line naming the host, through every client the product uses (requests as msal and
preflight use it, httpx as the Graph SDK uses it, azure-core as azure-identity and the Azure SDKs use it);
`classify` stops a wait at once instead of counting them as transient. A 503 stays transient.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import pytest

from drill.clients import unreachable
from drill.steps.waiting import HostUnreachable, call_within, classify

DNS_HOST = "login.drill-nowhere.invalid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def untrusted_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A TLS server on 127.0.0.1 whose self-signed certificate nobody trusts; yields its port."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8 = serialization.PrivateFormat.PKCS8
    (folder / "k.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "c.pem", folder / "k.pem")
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(2)
    server.close()


def _requests(url: str) -> None:
    import requests

    requests.get(url, timeout=5)


def _httpx(url: str) -> None:
    import httpx

    async def get() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(url)

    asyncio.run(get())


def _azure_core(url: str) -> None:
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest
    from azure.mgmt.monitor import MonitorManagementClient

    class NoToken:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            from azure.core.credentials import AccessToken

            return AccessToken("t", 2**31)

    client = MonitorManagementClient(NoToken(), "s", base_url=url, retry_total=0,  # type: ignore[arg-type]
                                     transport=RequestsTransport())  # fmt: skip
    client._send_request(HttpRequest("GET", "/providers/x?api-version=1"))


CLIENTS: list[Callable[[str], None]] = [_requests, _httpx, _azure_core]


def _failure(call: Callable[[str], None], url: str) -> BaseException:
    with pytest.raises(Exception) as caught:
        call(url)
    return caught.value


@pytest.mark.parametrize("call", CLIENTS, ids=lambda c: c.__name__.strip("_"))
def test_dns_refused_and_tls_name_the_host(call: Callable[[str], None], untrusted_tls: int) -> None:
    port = _free_port()
    cases = [
        (f"https://{DNS_HOST}/x", DNS_HOST, "dns", "does not resolve"),
        (f"https://127.0.0.1:{port}/x", f"127.0.0.1:{port}", "refused", "nothing accepts connections"),
        (f"https://127.0.0.1:{untrusted_tls}/x", f"127.0.0.1:{untrusted_tls}", "tls", "not trusted"),
    ]
    for url, host, kind, words in cases:  # fmt: skip
        exc = _failure(call, url)
        where = unreachable(exc)
        assert where is not None, (url, repr(exc))
        assert (where.host, where.kind) == (host, kind)
        assert where.line().startswith(f"cannot reach {host}: ")
        assert words in where.line()
        with pytest.raises(HostUnreachable) as stopped:
            classify(exc)
        assert stopped.value.line == where.line()


def test_a_wait_stops_at_once_on_an_unreachable_host() -> None:
    """call_within would wait its whole deadline on a transient error; an unreachable host ends it."""
    calls = []

    async def call() -> None:
        calls.append(1)
        _requests(f"https://{DNS_HOST}/x")

    with pytest.raises(HostUnreachable):
        asyncio.run(call_within(call, 120))
    assert len(calls) == 1


def test_a_service_answer_is_never_unreachable() -> None:
    """A 503 whose text happens to mention a refused connection upstream is the service answering."""
    from azure.core.exceptions import HttpResponseError

    exc = HttpResponseError(message="upstream: Connection refused")
    exc.status_code = 503
    record = classify(exc)
    assert record is not None
    assert record["status"] == 503
    assert unreachable(exc) is None
    assert unreachable(RuntimeError("some other failure")) is None
