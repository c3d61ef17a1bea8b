"""Failed logins are limited per client address and per email; only failures count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bcrypt
import pytest
from devkit.wait import await_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from auth_fixtures import Running, StartApp, UsersTable

ADMIN, SECRET = "admin@example.com", "verysecret"
ATTACKER, NEIGHBOUR = "10.0.0.66", "10.0.0.7"


@pytest.fixture(scope="module")
async def fast_user(users: UsersTable, start_app: StartApp) -> str:
    """A user whose hash costs little, so many failures stay quick (the table exists by now)."""
    async with start_app():
        pass
    email = "limits@example.com"
    await users.add(email, bcrypt.hashpw(b"right", bcrypt.gensalt(4, b"2a")).decode())
    return email


@pytest.fixture(scope="module")
async def per_address(start_app: StartApp, fast_user: str) -> AsyncIterator[Running]:
    async with start_app(
        login_failures_per_ip="3/3 seconds", login_failures_per_email="100/minute"
    ) as svc:
        yield svc


async def test_an_address_over_its_limit_gets_429_with_retry_after_before_any_bcrypt(
    per_address: Running, fast_user: str
) -> None:
    for _ in range(3):
        assert (await per_address.login(fast_user, "wrong", ATTACKER)).status_code == 401
    before = per_address.checks()
    r = await per_address.login(fast_user, "right", ATTACKER)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 3
    assert r.json()["error"] is True
    assert r.json()["message"].startswith("too many failed logins; try again in ")
    assert per_address.checks() == before
    # Someone else, even for the same account, is not held back by the attacker's failures.
    assert (await per_address.login(fast_user, "right", NEIGHBOUR)).status_code == 202


async def test_the_limit_resets_when_its_window_has_passed(
    per_address: Running, fast_user: str
) -> None:
    address = "10.0.0.99"
    for _ in range(3):
        await per_address.login(fast_user, "wrong", address)
    assert (await per_address.login(fast_user, "right", address)).status_code == 429

    async def let_in() -> bool:
        return (await per_address.login(fast_user, "right", address)).status_code == 202

    # Refused attempts are not failures, so polling does not extend the wait.
    await await_for(let_in, 6, interval=0.2, what="the window to pass")


async def test_successes_are_never_counted(per_address: Running, fast_user: str) -> None:
    address = "10.0.0.100"
    for _ in range(5):
        assert (await per_address.login(fast_user, "right", address)).status_code == 202


async def test_an_email_over_its_limit_is_refused_from_any_address(
    start_app: StartApp, fast_user: str
) -> None:
    async with start_app(
        login_failures_per_ip="100/minute", login_failures_per_email="3/minute"
    ) as svc:
        # The count ignores case, as the address does in practice.
        for address, email in [("10.1.0.1", fast_user), ("10.1.0.2", fast_user.upper())] * 2:
            await svc.login(email, "wrong", address)
        r = await svc.login(fast_user, "wrong", "10.1.0.3")
        other = await svc.login(ADMIN, SECRET, "10.1.0.3")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 1
    assert other.status_code == 202


async def test_with_redis_replicas_share_the_count(
    start_app: StartApp, fast_user: str, run_id: str, redis_url: str
) -> None:
    settings = {
        "rate_limit_storage": redis_url,
        "rate_limit_namespace": f"auth-test-{run_id}",
        "login_failures_per_ip": "2/minute",
    }
    async with start_app(**settings) as a, start_app(**settings) as b:
        assert (await a.login(fast_user, "wrong", ATTACKER)).status_code == 401
        assert (await b.login(fast_user, "wrong", ATTACKER)).status_code == 401
        refused = await a.login(fast_user, "right", ATTACKER)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert (await b.login(fast_user, "right", NEIGHBOUR)).status_code == 202


async def test_a_rate_limit_store_that_is_down_never_denies_a_login(start_app: StartApp) -> None:
    async with start_app(rate_limit_storage="redis://127.0.0.1:1/0", rate_limit_timeout=0.3) as svc:
        assert (await svc.login(ADMIN, SECRET)).status_code == 202
