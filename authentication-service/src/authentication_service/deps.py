"""The service's parts: built once in the lifespan, kept in the app's state, and given to each
route as a typed `Annotated` dependency (as FastAPI's full-stack template's `api/deps.py`)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from limits import parse
from svckit.backoff import retry_forever
from svckit.parts import Part
from svckit.readiness import Readiness

from authentication_service.activity import ActivityLog
from authentication_service.passwords import PasswordChecker
from authentication_service.rate_limit import FailureLimiter
from authentication_service.settings import AuthSettings
from authentication_service.store import UserStore


@dataclass(frozen=True)
class Parts:
    store: UserStore
    passwords: PasswordChecker
    limiter: FailureLimiter
    activity: ActivityLog


@contextlib.asynccontextmanager
async def open_parts(settings: AuthSettings, readiness: Readiness) -> AsyncIterator[Parts]:
    """Every part, its `/ready` check registered; PostgreSQL is connected in the background,
    so start-up never waits for it (`/ready` answers 503 until it is there)."""
    parts = Parts(
        store=UserStore(
            settings.target(),
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
    readiness.add("postgres", parts.store.ping)

    async def connect() -> None:
        await parts.passwords.prepare(settings.bcrypt_cost)
        await retry_forever("PostgreSQL", parts.store.open)

    connecting = asyncio.create_task(connect())
    try:
        yield parts
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await parts.store.close()
        await parts.activity.close()
        parts.passwords.close()


parts_of = Part[Parts]("parts")
PartsDep = Annotated[Parts, Depends(parts_of.dependency)]
