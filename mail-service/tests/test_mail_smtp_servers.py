"""The service against bare aiosmtpd servers: TLS, AUTH, refusals, silence and reconnects."""

import asyncio
import time
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from devkit.net import free_port
from mail_fixtures import PrivateCA, Recorder, mail_service, send_body, smtp_server


class Refusing:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        return f"550 5.1.1 <{address}>: no such user here"


class StallingAtData:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.Event().wait()  # ends when the controller stops and cancels it
        return "250 OK"


class Credentials:
    """aiosmtpd authenticator: accepts mailer / s3cret and remembers every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, bytes, bytes]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.attempts.append((mechanism, data.login, data.password))
        ok = (data.login, data.password) == (b"mailer", b"s3cret")
        # handled=False: aiosmtpd itself answers 535 to a failure (else it says nothing).
        return AuthResult(success=ok, handled=False)


def settings(port: int, **extra: Any) -> dict[str, Any]:
    return {"mail_host": "127.0.0.1", "mail_port": port, "mail_domain": "mail.example.com", **extra}


async def test_starttls_with_a_private_ca(recorder: Recorder, test_ca: PrivateCA) -> None:
    server_side: dict[str, Any] = {"tls_context": test_ca.server_context, "require_starttls": True}
    with smtp_server(recorder, **server_side) as port:
        config = settings(port, mail_encryption="tls", mail_ca_file=test_ca.ca_file)
        async with mail_service(**config) as http:
            replies = [
                await http.post("/send", json=send_body(f"tls-{n}@there.com")) for n in (1, 2)
            ]
            ready = await http.get("/ready")

    assert [r.status_code for r in replies] == [202, 202], replies[-1].text
    assert [r.rcpt_tos for r in recorder.received] == [["tls-1@there.com"], ["tls-2@there.com"]]
    assert all(r.encrypted for r in recorder.received)
    assert len({r.peer for r in recorder.received}) == 1  # the TLS session is reused
    assert ready.status_code == 200


async def test_implicit_tls_with_a_private_ca(recorder: Recorder, test_ca: PrivateCA) -> None:
    with smtp_server(recorder, ssl_context=test_ca.server_context) as port:
        config = settings(port, mail_encryption="ssl", mail_ca_file=test_ca.ca_file)
        async with mail_service(**config) as http:
            replies = [
                await http.post("/send", json=send_body(f"ssl-{n}@there.com")) for n in (1, 2)
            ]

    assert [r.status_code for r in replies] == [202, 202], replies[-1].text
    assert all(r.encrypted for r in recorder.received)
    assert len({r.peer for r in recorder.received}) == 1


async def test_a_certificate_from_an_untrusted_ca_is_502(
    recorder: Recorder, test_ca: PrivateCA, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server(recorder, ssl_context=test_ca.server_context) as port:
        async with mail_service(**settings(port, mail_encryption="ssl")) as http:
            resp = await http.post("/send", json=send_body("untrusted@there.com"))

    # The caller learns which part failed; why, and where, is the operator's (the log).
    assert (resp.status_code, resp.json()["message"]) == (502, "mail server is unavailable")
    assert "certificate verify failed" in caplog.text
    assert f"127.0.0.1:{port}" in caplog.text
    assert recorder.received == []


async def test_starttls_required_but_not_offered_is_502(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server(recorder) as port:
        async with mail_service(**settings(port, mail_encryption="tls")) as http:
            resp = await http.post("/send", json=send_body("plain@there.com"))

    assert (resp.status_code, resp.json()["message"]) == (502, "mail server is unavailable")
    assert "STARTTLS" in caplog.text
    assert recorder.received == []


# The plain-text AUTH tests run without TLS on purpose; aiosmtpd warns about exactly that.
no_tls_warning = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@no_tls_warning
async def test_smtp_auth_sends_the_configured_credentials(recorder: Recorder) -> None:
    credentials = Credentials()
    server_side: dict[str, Any] = {
        "authenticator": credentials,
        "auth_required": True,
        "auth_require_tls": False,
    }
    with smtp_server(recorder, **server_side) as port:
        config = settings(port, mail_username="mailer", mail_password="s3cret")
        async with mail_service(**config) as http:
            resp = await http.post("/send", json=send_body("auth@there.com"))

    assert resp.status_code == 202, resp.text
    assert [(login, password) for _, login, password in credentials.attempts] == [
        (b"mailer", b"s3cret")
    ]
    [received] = recorder.received
    assert received.authenticated


@no_tls_warning
async def test_wrong_credentials_are_502_with_the_servers_reason(recorder: Recorder) -> None:
    server_side: dict[str, Any] = {
        "authenticator": Credentials(),
        "auth_required": True,
        "auth_require_tls": False,
    }
    with smtp_server(recorder, **server_side) as port:
        config = settings(port, mail_username="mailer", mail_password="wrong")
        async with mail_service(**config) as http:
            resp = await http.post("/send", json=send_body("auth@there.com"))

    assert resp.status_code == 502
    assert "535" in resp.json()["message"]
    assert recorder.received == []


async def test_a_refused_recipient_is_502_with_the_servers_reason() -> None:
    with smtp_server(Refusing()) as port:
        async with mail_service(**settings(port)) as http:
            resp = await http.post("/send", json=send_body("nobody@there.com"))

    assert resp.status_code == 502
    assert resp.json() == {
        "error": True,
        "message": "mail server refused: 550 5.1.1 <nobody@there.com>: no such user here",
    }


async def test_a_server_that_never_greets_is_504_within_the_connect_deadline(
    silent_port: int,
) -> None:
    async with mail_service(**settings(silent_port, mail_connect_timeout=0.5)) as http:
        started = time.monotonic()
        resp = await http.post("/send", json=send_body("silence@there.com"))
        elapsed = time.monotonic() - started
        ready = await http.get("/ready")

    assert resp.status_code == 504
    assert resp.json()["message"] == "mail server did not answer within 0.5 s"
    assert elapsed < 2.0
    assert ready.status_code == 503
    assert "smtp" in ready.json()["message"]


async def test_a_server_that_stalls_at_data_is_504_within_the_send_deadline() -> None:
    with smtp_server(StallingAtData()) as port:
        async with mail_service(**settings(port, mail_send_timeout=0.5)) as http:
            started = time.monotonic()
            resp = await http.post("/send", json=send_body("stalled@there.com"))
            elapsed = time.monotonic() - started

    assert resp.status_code == 504
    assert "did not answer within 0.5 s" in resp.json()["message"]
    assert elapsed < 2.0


async def test_no_server_listening_is_502_naming_it_but_only_the_log_has_its_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    async with mail_service(**settings(port)) as http:
        resp = await http.post("/send", json=send_body("void@there.com"))
        ready = await http.get("/ready")

    assert resp.status_code == 502
    assert resp.json()["message"] == "mail server is unavailable"
    assert ready.status_code == 503
    assert ready.json()["data"]["smtp"] == "mail server is unavailable"
    assert f"127.0.0.1:{port}" not in resp.text + ready.text


async def test_serial_sends_reuse_one_connection(recorder: Recorder) -> None:
    with smtp_server(recorder) as port:
        async with mail_service(**settings(port)) as http:
            for n in range(3):
                resp = await http.post("/send", json=send_body(f"reuse-{n}@there.com"))
                assert resp.status_code == 202, resp.text

    assert [r.rcpt_tos for r in recorder.received] == [[f"reuse-{n}@there.com"] for n in range(3)]
    assert len({r.peer for r in recorder.received}) == 1


async def test_a_connection_the_server_dropped_is_replaced_not_failed(recorder: Recorder) -> None:
    port = free_port()
    async with mail_service(**settings(port)) as http:
        with smtp_server(recorder, port=port):
            first = await http.post("/send", json=send_body("before@there.com"))
        with smtp_server(recorder, port=port):  # a restarted server: the old session is gone
            second = await http.post("/send", json=send_body("after@there.com"))

    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert [r.rcpt_tos for r in recorder.received] == [["before@there.com"], ["after@there.com"]]
    assert len({r.peer for r in recorder.received}) == 2


@pytest.mark.parametrize("connections", [1, 4])
async def test_concurrent_sends_all_arrive_over_at_most_the_configured_connections(
    recorder: Recorder, connections: int
) -> None:
    with smtp_server(recorder) as port:
        async with mail_service(**settings(port, mail_connections=connections)) as http:
            replies = await asyncio.gather(
                *(http.post("/send", json=send_body(f"many-{n}@there.com")) for n in range(20))
            )

    assert [r.status_code for r in replies] == [202] * 20
    assert sorted(r.rcpt_tos[0] for r in recorder.received) == sorted(
        f"many-{n}@there.com" for n in range(20)
    )
    assert len({r.peer for r in recorder.received}) <= connections
