"""MailHog's HTTP API (the parts people and tools use) and a page listing the caught mail.

The app's lifespan runs the SMTP server in the same event loop, so one process (or one
thread, in tests) is the whole catcher.
"""

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from mailcatcher.mailhog import page_view, to_mailhog
from mailcatcher.settings import CatcherSettings
from mailcatcher.smtp_server import start_smtp
from mailcatcher.store import MessageStore

# The page shows mail from anyone: no scripts, nothing fetched from elsewhere.
_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)
_PAGE_LIMIT = 100


def build_app(
    settings: CatcherSettings, store: MessageStore, smtp_socket: socket.socket | None = None
) -> FastAPI:
    """The catcher; `smtp_socket`, when given, is an already bound listening socket to serve."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        where: dict[str, Any] = (
            {"sock": smtp_socket}
            if smtp_socket is not None
            else {"host": settings.host, "port": settings.smtp_port}
        )
        server = await start_smtp(store, max_size=settings.max_message_size, **where)
        try:
            yield
        finally:
            # Open sessions end with the loop; waiting for them here could hang the shutdown.
            server.close()

    app = FastAPI(title="mailcatcher", description="A MailHog stand-in.", lifespan=lifespan)
    pages = Environment(
        loader=PackageLoader("mailcatcher", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.jinja",)),
    )

    @app.get("/api/v2/messages", tags=["MailHog v2"])
    async def list_messages(
        start: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=0)] = 50
    ) -> dict[str, Any]:
        """Caught messages, newest first, as MailHog's `{total, count, start, items}`."""
        messages = store.newest_first()
        items = [to_mailhog(m) for m in messages[start : start + limit]]
        return {"total": len(messages), "count": len(items), "start": start, "items": items}

    @app.get("/api/v1/messages", tags=["MailHog v1"])
    async def list_messages_v1() -> list[dict[str, Any]]:
        """Every caught message, newest first, as MailHog's v1 array."""
        return [to_mailhog(m) for m in store.newest_first()]

    @app.get("/api/v1/messages/{message_id}", tags=["MailHog v1"])
    async def get_message(message_id: str) -> dict[str, Any]:
        caught = store.get(message_id)
        if caught is None:
            raise HTTPException(404, f"no message {message_id}")
        return to_mailhog(caught)

    @app.delete("/api/v1/messages", tags=["MailHog v1"])
    async def delete_messages() -> None:
        """Forget every caught message."""
        store.clear()

    @app.delete("/api/v1/messages/{message_id}", tags=["MailHog v1"])
    async def delete_message(message_id: str) -> None:
        if not store.delete(message_id):
            raise HTTPException(404, f"no message {message_id}")

    @app.get("/", response_class=HTMLResponse, tags=["page"])
    async def page(request: Request) -> HTMLResponse:
        """The caught mail, newest first; each HTML part in a sandboxed frame."""
        messages = store.newest_first()
        html = pages.get_template("index.html.jinja").render(
            messages=[page_view(m) for m in messages[:_PAGE_LIMIT]],
            total=len(messages),
            shown=min(len(messages), _PAGE_LIMIT),
            base_url=str(request.base_url),
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": _PAGE_POLICY})

    return app
