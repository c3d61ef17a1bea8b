"""The HTTP door: `POST /authenticate`; routes only, given their parts by `deps`."""

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from svckit.client_address import client_address
from svckit.envelope import Envelope, reply
from svckit.errors import ServiceError
from svckit.fields import Email
from svckit.go_json import GoModel
from svckit.metrics import service

from authentication_service.deps import PartsDep
from authentication_service.metrics import DELAYS, LOGINS, REFUSALS
from authentication_service.passwords import PasswordsBusy
from authentication_service.rate_limit import client_of

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
async def authenticate(credentials: Credentials, request: Request, use: PartsDep) -> JSONResponse:
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
