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


def content_security_policy(broker_origin: str, lab_origin: str = "") -> str:
    """Scripts and styles from our origin only; fetch may reach the broker (and the launcher's
    lab controls, when they are on) and nothing else."""
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(filter(None, ["connect-src 'self'", broker_origin, lab_origin])),
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
        "Content-Security-Policy": content_security_policy(
            settings.broker_origin, settings.lab_origin
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }

    @app.get("/", response_class=HTMLResponse, tags=["page"])
    async def page(request: Request) -> HTMLResponse:
        """The test page; `BROKER_URL`, `TRACE_UI_URL` and `LAB_URL` are injected (escaped) for
        its scripts."""
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "broker_url": settings.broker_url,
                "trace_ui_url": settings.trace_ui_url,
                "lab_url": settings.lab_url,
            },
            headers=headers,
        )

    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    return app
