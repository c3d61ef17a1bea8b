"""The authentication service as one process: the app, and the lifespan that opens its parts."""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from svckit.app import create_app

from authentication_service.deps import open_parts, parts_of
from authentication_service.http_api import router
from authentication_service.settings import AuthSettings


def build_app(settings: AuthSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_parts(settings, app.state.readiness) as parts:
            parts_of.install(app, parts)
            yield

    app = create_app(
        "authentication-service",
        description="Logs users in against PostgreSQL with Go-compatible bcrypt.",
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    return app
