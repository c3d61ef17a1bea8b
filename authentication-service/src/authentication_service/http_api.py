"""The HTTP door: `POST /authenticate`, plus the shared `/ping` and `/ready`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, field_validator, model_validator
from pydantic_core import PydanticCustomError
from svckit.app import create_app
from svckit.backoff import retry_forever
from svckit.envelope import reply
from svckit.errors import ServiceError

from authentication_service.activity import ActivityLog
from authentication_service.dsn import Target
from authentication_service.passwords import PasswordChecker
from authentication_service.rate_limit import FailureLimiter
from authentication_service.settings import Settings
from authentication_service.store import UserStore

log = logging.getLogger(__name__)


class Credentials(BaseModel):
    email: str
    password: str

    @model_validator(mode="before")
    @classmethod
    def _fold_keys(cls, data: Any) -> Any:
        # Go's encoding/json matched `Email` or `EMAIL` to the `email` field; so do we.
        if not isinstance(data, dict):
            return data
        folded: dict[str, Any] = {}
        for key, value in data.items():
            folded[key.lower() if key.lower() in cls.model_fields else key] = value
        return folded

    @field_validator("email")
    @classmethod
    def _an_address(cls, value: str) -> str:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise PydanticCustomError(
                "email", "not an email address: {reason}", {"reason": str(exc)}
            ) from None
        return value


class PublicUser(BaseModel):
    id: int
    email: str
    first_name: str
    last_name: str
    active: int
    created_at: str | None
    updated_at: str | None


class LoginReply(BaseModel):
    error: bool
    message: str
    data: PublicUser


class ErrorReply(BaseModel):
    error: bool
    message: str


@dataclass
class Parts:
    store: UserStore
    passwords: PasswordChecker
    limiter: FailureLimiter
    activity: ActivityLog


def parts(request: Request) -> Parts:
    found: Parts = request.app.state.parts
    return found


def client_address(request: Request) -> str:
    """The peer's address; behind a proxy that is the proxy (X-Forwarded-For is not trusted)."""
    return request.client.host if request.client else "unknown"


def build_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        found = Parts(
            store=UserStore(
                Target.from_dsn(settings.dsn),
                timeout=settings.db_timeout,
                pool_size=settings.db_pool_size,
            ),
            passwords=PasswordChecker(settings.bcrypt_threads),
            limiter=FailureLimiter(
                settings.rate_limit_storage,
                per_address=settings.login_failures_per_ip,
                per_email=settings.login_failures_per_email,
                namespace=settings.rate_limit_namespace,
                timeout=settings.rate_limit_timeout,
            ),
            activity=ActivityLog(settings.logger_url, settings.logger_timeout),
        )
        app.state.parts = found
        app.state.readiness.add("postgres", found.store.ping)

        async def connect() -> None:
            await found.passwords.prepare(settings.bcrypt_cost)
            await retry_forever("PostgreSQL", found.store.open)

        # Start-up never waits for PostgreSQL: /ready answers 503 until it is there.
        connecting = asyncio.create_task(connect())
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await found.store.close()
            await found.activity.close()
            found.passwords.close()

    app = create_app(
        "authentication-service",
        description="Logs users in against PostgreSQL with Go-compatible bcrypt.",
        lifespan=lifespan,
    )

    @app.post(
        "/authenticate",
        status_code=202,
        response_model=LoginReply,
        tags=["authentication"],
        responses={
            400: {"model": ErrorReply, "description": "the body is not valid"},
            401: {"model": ErrorReply, "description": "invalid credentials"},
            429: {"model": ErrorReply, "description": "too many failed logins (Retry-After)"},
            503: {"model": ErrorReply, "description": "the database is unavailable"},
        },
    )
    async def authenticate(
        credentials: Credentials, request: Request, use: Annotated[Parts, Depends(parts)]
    ) -> JSONResponse:
        """Check the credentials: 202 with the user, or 401 `invalid credentials` either way."""
        address = client_address(request)
        wait = await use.limiter.retry_after(address, credentials.email)
        if wait is not None:
            raise ServiceError(
                429, f"too many failed logins; try again in {wait} s", {"Retry-After": str(wait)}
            )
        user = await use.store.find_by_email(credentials.email)
        valid = await use.passwords.matches(credentials.password, user.password if user else None)
        if user is None or not valid:
            await use.limiter.record_failure(address, credentials.email)
            log.info("failed login for %s from %s", credentials.email, address)
            raise ServiceError(401, "invalid credentials")
        await use.activity.logged_in(user.email)
        return reply(202, f"Logged in user {user.email}", user.public())

    return app
