"""msal's HTTP session survives a pooled connection the server closed while idle (no false FAIL)."""

from __future__ import annotations

import socket
import threading

from drill.auth import msal_session


def _server(answers: list[bytes | None]) -> tuple[int, list[bytes]]:
    """One connection per answer: None closes it after reading the request, without a response."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[bytes] = []

    def serve() -> None:
        with listener:
            for answer in answers:
                conn, _ = listener.accept()
                with conn:
                    seen.append(conn.recv(65536))
                    if answer is not None:
                        conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], seen


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
REFUSED = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def test_a_post_dropped_without_an_answer_is_sent_once_more_on_a_fresh_connection() -> None:
    port, seen = _server([None, OK])
    response = msal_session(None).post(f"http://127.0.0.1:{port}/token", data={"code": "x"}, timeout=10)
    assert response.status_code == 200
    assert len(seen) == 2
    assert all(r.startswith(b"POST /token") for r in seen)


def test_an_answer_is_never_retried() -> None:
    port, seen = _server([REFUSED, OK])
    response = msal_session(None).post(f"http://127.0.0.1:{port}/token", data={"code": "x"}, timeout=10)
    assert response.status_code == 400  # msal judges answers; a 400 is not sent again
    assert len(seen) == 1
