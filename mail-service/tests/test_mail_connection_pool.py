"""The SMTP connections against real aiosmtpd servers that count what they see: sessions kept
and reused, checked, expired and retired; one per message when asked; a dropped session retried
only while the server has taken nothing."""

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from devkit.net import free_port
from devkit.wait import await_for
from mail_fixtures import Recorder, mail_service, send_body, smtp_server


class Sessions(Recorder):
    """Also counts the sessions (EHLO), the NOOPs and the QUITs it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.noops = 0
        self.quits = 0

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        self.sessions += 1
        session.host_name = hostname  # what aiosmtpd does when there is no hook
        return responses

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, _: str) -> str:
        self.noops += 1
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 Bye"

    def per_session(self) -> list[int]:
        """How many messages each session carried, in the order they began."""
        return list(Counter(r.peer for r in self.received).values())

    def carried_one(self, session: Session) -> bool:
        return any(r.peer == session.peer for r in self.received)


def cut(server: SMTP) -> None:
    """Drop the session at once, no reply: nothing written after this reaches the client."""
    assert isinstance(server.transport, asyncio.Transport)
    server.transport.abort()


class DropsAtSecondMail(Sessions):
    """Cuts a session (no reply) when it begins its second message: as if it had timed out."""

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.carried_one(session):
            cut(server)
        envelope.mail_from = address
        return "250 OK"


class DropsAfterSecondData(Sessions):
    """Takes a session's second message, then cuts it before saying so: the client cannot know."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        again = self.carried_one(session)
        status = await super().handle_DATA(server, session, envelope)
        if again:
            cut(server)
        return status


class SilentAtNoop(Sessions):
    """Never answers NOOP: a peer gone dead while the connection sat idle."""

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, _: str) -> str:
        await asyncio.Event().wait()  # ends when the controller stops and cancels it
        return "250 OK"


def settings(port: int, **extra: Any) -> dict[str, Any]:
    return {"mail_host": "127.0.0.1", "mail_port": port, "mail_domain": "mail.example.com", **extra}


async def test_concurrent_sends_share_a_few_kept_connections_which_quit_at_shutdown() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        async with mail_service(**settings(port, mail_connections=3)) as http:
            replies = await asyncio.gather(
                *(http.post("/send", json=send_body(f"pool-{n}@there.com")) for n in range(12))
            )
            quits_before_shutdown = server.quits
        await await_for(_async(lambda: server.quits == server.sessions), what="QUIT each")

    assert [r.status_code for r in replies] == [202] * 12
    assert sorted(r.rcpt_tos[0] for r in server.received) == sorted(
        f"pool-{n}@there.com" for n in range(12)
    )
    assert 1 <= server.sessions <= 3
    assert sum(server.per_session()) == 12
    assert quits_before_shutdown == 0


async def test_per_message_opens_a_connection_for_each_and_says_quit() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        config = settings(port, mail_connection="per-message", mail_connections=4)
        async with mail_service(**config) as http:
            replies = await asyncio.gather(
                *(http.post("/send", json=send_body(f"each-{n}@there.com")) for n in range(6))
            )
            quits = server.quits

    assert [r.status_code for r in replies] == [202] * 6
    assert server.per_session() == [1] * 6
    assert (server.sessions, quits) == (6, 6)  # QUIT before the answer, as the original


async def test_a_connection_retires_after_its_quota_of_messages() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        async with mail_service(**settings(port, mail_messages_per_connection=2)) as http:
            for n in range(5):
                resp = await http.post("/send", json=send_body(f"quota-{n}@there.com"))
                assert resp.status_code == 202, resp.text
            await await_for(_async(lambda: server.quits == 2), what="the two full ones QUIT")

    assert server.per_session() == [2, 2, 1]


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        async with mail_service(**settings(port, mail_idle_timeout=0.2)) as http:
            first = await http.post("/send", json=send_body("idle-1@there.com"))
            await await_for(_async(lambda: server.quits == 1), what="the idle one QUIT")
            second = await http.post("/send", json=send_body("idle-2@there.com"))

    assert (first.status_code, second.status_code) == (202, 202)
    assert server.per_session() == [1, 1]


async def test_a_connection_idle_past_check_after_answers_noop_before_reuse() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        async with mail_service(**settings(port, mail_check_after=0)) as http:
            for n in range(3):
                resp = await http.post("/send", json=send_body(f"noop-{n}@there.com"))
                assert resp.status_code == 202, resp.text

    assert server.per_session() == [3]
    assert server.noops == 2


async def test_a_busy_connection_is_reused_without_noop() -> None:
    server = Sessions()
    with smtp_server(server) as port:
        async with mail_service(**settings(port, mail_check_after=60)) as http:
            for n in range(3):
                resp = await http.post("/send", json=send_body(f"busy-{n}@there.com"))
                assert resp.status_code == 202, resp.text

    assert (server.per_session(), server.noops) == ([3], 0)


async def test_a_kept_connection_that_fails_noop_is_replaced_within_the_deadline() -> None:
    server = SilentAtNoop()
    with smtp_server(server) as port:
        config = settings(port, mail_check_after=0, mail_connect_timeout=0.6)
        async with mail_service(**config) as http:
            first = await http.post("/send", json=send_body("dead-1@there.com"))
            started = time.monotonic()
            second = await http.post("/send", json=send_body("dead-2@there.com"))
            elapsed = time.monotonic() - started

    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert server.per_session() == [1, 1]
    assert elapsed < 0.6 + 0.5  # the NOOP gave up in half the connect deadline


async def test_a_session_cut_before_the_message_is_sent_again_on_a_fresh_connection() -> None:
    server = DropsAtSecondMail()
    with smtp_server(server) as port:
        async with mail_service(**settings(port)) as http:
            first = await http.post("/send", json=send_body("cut-1@there.com"))
            second = await http.post("/send", json=send_body("cut-2@there.com"))

    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert [r.rcpt_tos for r in server.received] == [["cut-1@there.com"], ["cut-2@there.com"]]
    assert server.sessions == 2


async def test_a_session_cut_after_the_content_is_not_sent_twice() -> None:
    server = DropsAfterSecondData()
    with smtp_server(server) as port:
        async with mail_service(**settings(port)) as http:
            first = await http.post("/send", json=send_body("once-1@there.com"))
            second = await http.post("/send", json=send_body("once-2@there.com"))
            third = await http.post("/send", json=send_body("once-3@there.com"))

    assert (first.status_code, third.status_code) == (202, 202), third.text
    # The server may have taken it (here it did): the caller hears of the failure, and the
    # message is not sent a second time behind its back.
    assert (second.status_code, second.json()["message"]) == (502, "mail server is unavailable")
    assert [r.rcpt_tos[0] for r in server.received] == [
        "once-1@there.com",
        "once-2@there.com",
        "once-3@there.com",
    ]


@pytest.mark.parametrize("connection", ["pooled", "per-message"])
async def test_a_restarted_server_is_used_at_once(connection: str) -> None:
    server = Sessions()
    port = free_port()
    async with mail_service(**settings(port, mail_connection=connection)) as http:
        with smtp_server(server, port=port):
            before = await http.post("/send", json=send_body("before@there.com"))
        down = await http.post("/send", json=send_body("down@there.com"))
        with smtp_server(server, port=port):
            after = await http.post("/send", json=send_body("after@there.com"))

    assert (before.status_code, down.status_code, after.status_code) == (202, 502, 202)
    assert [r.rcpt_tos for r in server.received] == [["before@there.com"], ["after@there.com"]]


def _async(predicate: Any) -> Any:
    async def check() -> Any:
        return predicate()

    return check
