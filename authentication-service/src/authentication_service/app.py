"""The authentication service as one process: the app, and the lifespan that opens its parts."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from limits import parse
from svckit.app import create_app
from svckit.backoff import retry_forever
from svckit.dsn import Target

from authentication_service.activity import ActivityLog
from authentication_service.http_api import Parts, router
from authentication_service.passwords import PasswordChecker
from authentication_service.rate_limit import FailureLimiter
from authentication_service.settings import AuthSettings
from authentication_service.store import UserStore


def build_app(settings: AuthSettings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = Parts(
            store=UserStore(
                Target.from_dsn(settings.dsn),
                timeout=settings.db_timeout,
                pool_size=settings.db_pool_size,
            ),
            passwords=PasswordChecker(settings.bcrypt_threads, settings.bcrypt_queue),
            limiter=FailureLimiter(
                settings.rate_limit_storage,
                per_address=parse(settings.login_failures_per_ip),
                per_address_and_account=parse(settings.login_failures_per_ip_and_email),
                per_account=parse(settings.login_failures_per_email),
                account_delay=settings.login_account_delay,
                namespace=settings.rate_limit_namespace,
                timeout=settings.rate_limit_timeout,
            ),
            activity=ActivityLog(settings.logger_url, settings.logger_timeout),
        )
        app.state.parts = parts
        app.state.readiness.add("postgres", parts.store.ping)

        async def connect() -> None:
            await parts.passwords.prepare(settings.bcrypt_cost)
            await retry_forever("PostgreSQL", parts.store.open)

        # Start-up never waits for PostgreSQL: /ready answers 503 until it is there.
        connecting = asyncio.create_task(connect())
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await parts.store.close()
            await parts.activity.close()
            parts.passwords.close()

    app = create_app(
        "authentication-service",
        description="Logs users in against PostgreSQL with Go-compatible bcrypt.",
        lifespan=lifespan,
        settings=settings,
    )
    app.include_router(router)
    return app
