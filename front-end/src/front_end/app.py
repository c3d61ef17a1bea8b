"""The FastAPI app: the page (a Jinja2 template with the broker's address) and its static files."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from svckit.app import create_app

from front_end.deps import PACKAGE_DIR, build_page, page_of
from front_end.http_api import router
from front_end.settings import FrontEndSettings


def build_app(settings: FrontEndSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        page_of.install(app, build_page(settings))
        yield

    app = create_app(
        "front-end",
        description="The test page: one button per path through the broker.",
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    return app
