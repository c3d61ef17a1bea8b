"""The front-end's one part, the page: built once in the lifespan, kept in the app's state and
given to its route as a typed `Annotated` dependency (as FastAPI's full-stack template's
`api/deps.py`)."""

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from svckit.parts import Part

from front_end.settings import FrontEndSettings

PACKAGE_DIR = Path(str(files("front_end")))


@dataclass(frozen=True)
class Page:
    """The test page's template, the values injected into it, and the headers it goes with."""

    templates: Jinja2Templates
    values: dict[str, str]
    headers: dict[str, str]


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


def build_page(settings: FrontEndSettings) -> Page:
    return Page(
        templates=Jinja2Templates(directory=PACKAGE_DIR / "templates"),
        values={
            "broker_url": settings.broker_url,
            "trace_ui_url": settings.trace_ui_url,
            "lab_url": settings.lab_url,
        },
        headers={
            "Content-Security-Policy": content_security_policy(
                settings.broker_origin, settings.lab_origin
            ),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


page_of = Part[Page]("page")
PageDep = Annotated[Page, Depends(page_of.dependency)]
