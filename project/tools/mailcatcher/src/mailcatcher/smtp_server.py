"""The SMTP side: an aiosmtpd server in the catcher's event loop that keeps whatever it is sent."""

import asyncio
import logging
import socket
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailcatcher.store import CaughtMessage, MessageStore

log = logging.getLogger(__name__)


class CatchAll:
    """aiosmtpd handler: every recipient is accepted, every message is kept."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        self.store.add(
            CaughtMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                helo=session.host_name or "",
                raw=raw,
            )
        )
        log.debug("caught a message from %s to %s", envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


async def start_smtp(
    store: MessageStore,
    *,
    host: str | None = None,
    port: int = 1025,
    sock: socket.socket | None = None,
    max_size: int = 10 * 1024 * 1024,
    **smtp_kwargs: Any,
) -> asyncio.Server:
    """Listen on `host:port` (or the bound `sock`) in the running loop; close it to stop."""
    handler = CatchAll(store)

    def session() -> SMTP:
        # A fixed host name: aiosmtpd would otherwise look up this machine's FQDN per session.
        return SMTP(
            handler,
            hostname="mailcatcher",
            ident="mailcatcher (MailHog stand-in)",
            enable_SMTPUTF8=True,
            data_size_limit=max_size,
            **smtp_kwargs,
        )

    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(session, sock=sock)
    return await loop.create_server(session, host, port)
