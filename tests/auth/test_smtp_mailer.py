"""Reset mail over SMTP (a minimal SMTP sink on 127.0.0.1), and nothing in the outbox then."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.auth.helpers import outbox, register


class SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321, no extensions) for smtplib to deliver one message."""

    received: list[str]

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        for _ in range(100):  # bounded: one short session
            line = self.rfile.readline().decode(errors="replace").strip()
            verb = line.split(" ")[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.reply("250 sink")
            elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 end with .")
                lines = []
                while (data := self.rfile.readline().decode(errors="replace")) not in {".\r\n", ""}:
                    lines.append(data)
                self.server.received.append("".join(lines))  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif verb == "QUIT" or not line:
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpSink)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_reset_mail_goes_over_smtp_when_configured(make_client, smtp_sink, auth_db_url):
    port, received = smtp_sink
    client = make_client(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    register(client, "alice")
    assert client.post("/password/forgot", json={"login": "alice"}).status_code == 202
    # TestClient runs background tasks before returning, so the mail has been handed over.
    assert len(received) == 1
    assert "To: alice@example.com" in received[0] and "Subject: Reset your PixelPlay password" in received[0]
    assert outbox(auth_db_url) == []  # reset codes are not kept in clear text when SMTP works


def test_smtp_failure_does_not_change_the_answer(make_client, auth_db_url):
    client = make_client(smtp_host="127.0.0.1", smtp_port=1, smtp_starttls=False)  # nothing listens
    register(client, "alice")
    response = client.post("/password/forgot", json={"login": "alice"})
    unknown = client.post("/password/forgot", json={"login": "nobody"})
    # Delivery failed in the background (logged); the answer is still the usual one.
    assert response.status_code == unknown.status_code == 202 and response.json() == unknown.json()
