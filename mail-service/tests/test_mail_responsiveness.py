"""Other requests keep their answers quick: `/ready` checks the SMTP server at most once per
MAIL_READY_CACHE (a real aiosmtpd server with AUTH counts the sessions), and a big mail is
composed off the event loop."""

import asyncio
import dataclasses
import threading
import time
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from devkit.net import free_port
from devkit.wait import await_for
from mail_fixtures import Recorder, mail_app, mail_service, send_body, smtp_server
from mail_service.composer import Composer
from mail_service.deps import parts_of
from mail_service.models import MESSAGE_MAX

# The AUTH here runs without TLS on purpose; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class CountsLogins(Recorder):
    """Counts the sessions that logged in (each `/ready` check is one); takes mailer/s3cret."""

    def __init__(self) -> None:
        super().__init__()
        self.logins = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins += 1
        return AuthResult(success=(data.login, data.password) == (b"mailer", b"s3cret"))


def with_auth(server: CountsLogins) -> dict[str, Any]:
    return {"authenticator": server.authenticate, "auth_required": True, "auth_require_tls": False}


def settings(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "mail_host": "127.0.0.1",
        "mail_port": port,
        "mail_username": "mailer",
        "mail_password": "s3cret",
        **extra,
    }


async def test_ready_called_50_times_logs_in_to_the_smtp_server_once() -> None:
    server = CountsLogins()
    with smtp_server(server, **with_auth(server)) as port:
        async with mail_service(**settings(port, mail_ready_cache=60)) as http:
            one_by_one = [await http.get("/ready") for _ in range(25)]
            at_once = await asyncio.gather(*(http.get("/ready") for _ in range(25)))

    assert [r.status_code for r in one_by_one + at_once] == [200] * 50
    assert server.logins == 1


async def test_ready_calls_at_once_share_the_check_in_flight_even_without_a_cache() -> None:
    server = CountsLogins()
    with smtp_server(server, **with_auth(server)) as port:
        async with mail_service(**settings(port, mail_ready_cache=0)) as http:
            at_once = await asyncio.gather(*(http.get("/ready") for _ in range(10)))
            logins_at_once = server.logins
            one_by_one = [await http.get("/ready") for _ in range(3)]

    assert [r.status_code for r in at_once + one_by_one] == [200] * 13
    assert logins_at_once <= 2
    assert server.logins == logins_at_once + 3


async def test_ready_checks_again_once_the_cached_answer_is_old() -> None:
    server = CountsLogins()
    port = free_port()
    async with mail_service(**settings(port, mail_ready_cache=0.3)) as http:
        down = await http.get("/ready")
        with smtp_server(server, port=port, **with_auth(server)):

            async def ready() -> bool:
                return (await http.get("/ready")).status_code == 200

            await await_for(ready, what="/ready to see the server up")

    assert (down.status_code, down.json()["data"]) == (503, {"smtp": "mail server is unavailable"})
    assert server.logins == 1


class HeldComposer(Composer):
    """The real composer, held mid-mail until the test lets it go on: a mail that is slow to
    compose, for as long as the test needs."""

    def __init__(self) -> None:
        super().__init__("mail.example.com", "Jane Sender")
        self.composing = threading.Event()
        self.go_on = threading.Event()

    def compose(self, *args: Any, **kwargs: Any) -> bytes:
        self.composing.set()
        self.go_on.wait(10)  # the deadline keeps a failing test short
        return super().compose(*args, **kwargs)


async def test_ping_answers_within_a_second_while_a_big_mail_is_composed(
    recorder: Recorder,
) -> None:
    composer = HeldComposer()
    message = "Grüße 😀\n" * (MESSAGE_MAX // 8)
    with smtp_server(recorder) as port:
        async with mail_app(mail_host="127.0.0.1", mail_port=port) as (app, http):
            parts_of.install(app, dataclasses.replace(parts_of.of(app), composer=composer))
            started = time.monotonic()
            send = asyncio.create_task(
                http.post("/send", json=send_body("big@there.com", message=message))
            )
            await await_for(_async(composer.composing.is_set), what="the mail being composed")
            ping = await http.get("/ping")
            elapsed = time.monotonic() - started
            composer.go_on.set()
            sent = await send
        composer.close()

    assert (ping.status_code, ping.text) == (200, ".")
    assert elapsed < 1.0
    assert sent.status_code == 202, sent.text
    [received] = recorder.received
    assert received.rcpt_tos == ["big@there.com"]


def _async(predicate: Any) -> Any:
    async def check() -> Any:
        return predicate()

    return check
