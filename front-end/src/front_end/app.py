"""The FastAPI app: the page (a Jinja2 template with the broker's address) and its static files."""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from svckit.app import create_app

from front_end.settings import FrontEndSettings

_HERE = Path(str(files("front_end")))


def content_security_policy(broker_origin: str) -> str:
    """Scripts and styles from our origin only; fetch may reach the broker and nothing else."""
    return "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {broker_origin}",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def build_app(settings: FrontEndSettings) -> FastAPI:
    app = create_app(
        "front-end",
        description="The test page: one button per path through the broker.",
        settings=settings,
    )
    templates = Jinja2Templates(directory=_HERE / "templates")
    headers = {
        "Content-Security-Policy": content_security_policy(settings.broker_origin),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }

    @app.get("/", response_class=HTMLResponse, tags=["page"])
    async def page(request: Request) -> HTMLResponse:
        """The test page; `BROKER_URL` and `TRACE_UI_URL` are injected (escaped) for its script."""
        return templates.TemplateResponse(
            request,
            "index.html",
            {"broker_url": settings.broker_url, "trace_ui_url": settings.trace_ui_url},
            headers=headers,
        )

    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    return app
