"""A whole mail catcher (SMTP and MailHog's API) in a thread of the test process.

The `mail_catcher` fixture (in `fixtures`) runs one for the session on ports of its own. Tests
share it, so each sends to recipients of its own and looks for them (`catcher.wait_for(to=...)`).
"""

import asyncio
import socket
import threading
import time
from email.message import EmailMessage

import uvicorn
from mailcatcher.http_api import build_app
from mailcatcher.settings import CatcherSettings
from mailcatcher.store import CaughtMessage, MessageStore

from devkit.wait import await_for, wait_for


def _listening_socket(host: str) -> socket.socket:
    # Bound here, on a port the OS picks, so no other process can take it before we listen.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


class Catcher:
    """A whole catcher (SMTP and HTTP) in a thread of its own, with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", max_messages: int = 1000) -> None:
        self.host = host
        self.store = MessageStore(max_messages)
        self._smtp_sock = _listening_socket(host)
        self._http_sock = _listening_socket(host)
        self.smtp_port: int = self._smtp_sock.getsockname()[1]
        self.http_port: int = self._http_sock.getsockname()[1]
        settings = CatcherSettings(
            host=host,
            smtp_port=self.smtp_port,
            http_port=self.http_port,
            max_messages=max_messages,
        )
        app = build_app(settings, self.store, self._smtp_sock)
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        )
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._http_sock])),
            name=f"mailcatcher-{self.smtp_port}",
            daemon=True,
        )

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def start(self, timeout: float = 10.0) -> "Catcher":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the mail catcher did not start within {timeout:g} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._smtp_sock.close()
        self._http_sock.close()

    def caught(self, to: str | None = None) -> list[CaughtMessage]:
        """Caught messages, newest first; with `to`, only those with that envelope recipient."""
        messages = self.store.newest_first()
        if to is None:
            return messages
        wanted = to.lower()
        return [m for m in messages if wanted in (r.lower() for r in m.rcpt_tos)]

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """As `caught`, parsed by the standard `email` package."""
        return [m.parsed() for m in self.caught(to)]

    def _enough(self, to: str, count: int) -> list[EmailMessage] | None:
        found = self.messages(to)
        return found if len(found) >= count else None

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Poll until `count` messages for `to` are caught; newest first."""
        found: list[EmailMessage] = wait_for(
            lambda: self._enough(to, count), timeout, what=f"{count} message(s) to {to}"
        )
        return found

    async def await_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """`wait_for` for async tests: polls without blocking their event loop."""

        async def enough() -> list[EmailMessage] | None:
            return self._enough(to, count)

        found: list[EmailMessage] = await await_for(
            enough, timeout, what=f"{count} message(s) to {to}"
        )
        return found

    def clear(self) -> None:
        self.store.clear()
