"""Real SMTP servers for the mail-service's tests: aiosmtpd Controllers, TLS from a test CA."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from devkit.net import free_port
from fastapi import FastAPI
from mail_service.app import build_app
from mail_service.settings import MailSettings


@dataclass(frozen=True)
class Received:
    """What one SMTP session handed the server, and how it was connected."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any
    encrypted: bool
    authenticated: bool


class Recorder:
    """aiosmtpd handler keeping every message (and the session it came in)."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert server.transport is not None
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content or b"",
                peer=session.peer,
                encrypted=server.transport.get_extra_info("cipher") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 OK"


@contextmanager
def smtp_server(handler: object, *, port: int | None = None, **kwargs: Any) -> Iterator[int]:
    """An aiosmtpd server in a thread on a free port (aiosmtpd 1.4.6 cannot take port 0)."""
    port = port or free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test", **kwargs
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass(frozen=True)
class PrivateCA:
    server_context: ssl.SSLContext
    ca_file: Path


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> PrivateCA:
    """A private CA and a server certificate for 127.0.0.1 (what the service connects to)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return PrivateCA(context, ca_file)


@asynccontextmanager
async def mail_app(**settings: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The service's app with its lifespan running, and an HTTP client talking to it."""
    app = build_app(MailSettings(**settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mail") as client:
            yield app, client


@asynccontextmanager
async def mail_service(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """`mail_app`'s client alone."""
    async with mail_app(**settings) as (_, client):
        yield client


def send_body(to: str, **fields: str) -> dict[str, str]:
    return {"from": "me@example.com", "to": to, "subject": "Test email", "message": "Hi", **fields}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word (no SMTP greeting)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()
