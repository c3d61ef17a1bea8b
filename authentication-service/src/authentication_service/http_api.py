"""The HTTP door: `POST /authenticate`; routes only, the parts live in the app's state."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from svckit.envelope import Envelope, reply
from svckit.errors import ServiceError
from svckit.fields import Email
from svckit.go_json import GoModel
from svckit.metrics import service

from authentication_service.activity import ActivityLog
from authentication_service.metrics import DELAYS, LOGINS, REFUSALS
from authentication_service.passwords import PasswordChecker, PasswordsBusy
from authentication_service.rate_limit import FailureLimiter, client_of
from authentication_service.store import UserStore

log = logging.getLogger(__name__)

router = APIRouter(tags=["authentication"])


class Credentials(GoModel):
    email: Email
    password: str


class PublicUser(BaseModel):
    id: int
    email: str
    first_name: str
    last_name: str
    active: int
    created_at: str | None
    updated_at: str | None


@dataclass
class Parts:
    store: UserStore
    passwords: PasswordChecker
    limiter: FailureLimiter
    activity: ActivityLog


# `async`: FastAPI would run a plain `def` dependency in its thread pool, a hop per request.
async def _parts(request: Request) -> Parts:
    found: Parts = request.app.state.parts
    return found


def client_address(request: Request) -> str:
    """The client's address: the peer's, or from X-Forwarded-For when the peer is in
    FORWARDED_ALLOW_IPS (the broker), as uvicorn resolved it before the request reached us."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/authenticate",
    status_code=202,
    response_model=Envelope[PublicUser],
    responses={
        400: {"model": Envelope, "description": "the body is not valid"},
        401: {"model": Envelope, "description": "invalid credentials"},
        429: {"model": Envelope, "description": "too many failed logins (Retry-After)"},
        503: {
            "model": Envelope,
            "description": "the database is unavailable, or too many logins at once (Retry-After)",
        },
    },
)
async def authenticate(
    credentials: Credentials, request: Request, use: Annotated[Parts, Depends(_parts)]
) -> JSONResponse:
    """Check the credentials: 202 with the user, or 401 `invalid credentials` either way."""
    address = client_address(request)
    attempt = await use.limiter.begin(address, credentials.email)
    if attempt.refused is not None:
        wait, limit = attempt.refused
        REFUSALS.labels(service(), limit).inc()
        LOGINS.labels(service(), "refused").inc()
        raise ServiceError(
            429, f"too many failed logins; try again in {wait} s", {"Retry-After": str(wait)}
        )
    failed = False
    try:
        if attempt.delay:
            DELAYS.labels(service()).inc()
            await asyncio.sleep(attempt.delay)
        with use.passwords.admitted():
            user = await use.store.find_by_email(credentials.email)
            valid = await use.passwords.matches(
                credentials.password, user.password if user else None, client_of(address)
            )
        failed = user is None or not valid
    except PasswordsBusy:
        LOGINS.labels(service(), "busy").inc()
        raise
    finally:
        await use.limiter.end(attempt, failed=failed)
    if failed or user is None:
        LOGINS.labels(service(), "invalid").inc()
        log.info("failed login for %s from %s", credentials.email, address)
        raise ServiceError(401, "invalid credentials")
    await use.activity.logged_in(user.email)
    LOGINS.labels(service(), "ok").inc()
    return reply(202, f"Logged in user {user.email}", user.public())
