"""Failed logins are limited per client address and per address and account (429), and slow
an account down only when they come from many addresses; only failures count."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING

import bcrypt
import pytest
from authentication_service.rate_limit import client_of
from authentication_service.settings import AuthSettings
from devkit.wait import await_for
from pydantic import ValidationError

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


async def test_an_account_failed_at_from_many_addresses_is_slowed_down_never_refused(
    start_app: StartApp, fast_user: str
) -> None:
    async with start_app(
        login_failures_per_ip="100/minute",
        login_failures_per_ip_and_email="1/minute",
        login_failures_per_email="3/minute",
        login_account_delay=0.8,
    ) as svc:
        # The count ignores case, as the address does in practice.
        for address, email in [("10.1.0.1", fast_user), ("10.1.0.2", fast_user.upper())] * 2:
            await svc.login(email, "wrong", address)
        assert (await svc.login(fast_user, "wrong", "10.1.0.3")).status_code == 401
        started = time.perf_counter()
        owner = await svc.login(fast_user, "right", "10.1.0.4")
        took = time.perf_counter() - started
        other = await svc.login(ADMIN, SECRET, "10.1.0.4")
    assert owner.status_code == 202
    assert took >= 0.8
    assert other.status_code == 202


async def test_one_address_failing_on_and_on_never_keeps_the_owner_out(
    start_app: StartApp, fast_user: str
) -> None:
    # The address's own limit set high: the limit per address and account is what stops it.
    async with start_app(login_failures_per_ip="100/minute", login_account_delay=5) as svc:
        answers = Counter(
            [(await svc.login(fast_user, "wrong", ATTACKER)).status_code for _ in range(35)]
        )
        assert answers == Counter({401: 10, 429: 25})
        refused = await svc.login(fast_user, "right", ATTACKER)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 60
        started = time.perf_counter()
        owner = await svc.login(fast_user, "right", NEIGHBOUR)
        took = time.perf_counter() - started
    assert owner.status_code == 202
    # Not slowed either: the account's 5 s delay is for failures from many addresses.
    assert took < 4


async def test_a_burst_from_one_address_gets_its_limit_of_checks_and_429_at_once(
    start_app: StartApp,
) -> None:
    async with start_app() as svc:
        before = svc.checks()
        wrong = [svc.login(ADMIN, "wrong", ATTACKER) for _ in range(200)]

        async def owner() -> tuple[int, float]:
            started = time.perf_counter()
            r = await svc.login(ADMIN, SECRET, NEIGHBOUR)
            return r.status_code, time.perf_counter() - started

        answers, (status, took) = await asyncio.gather(asyncio.gather(*wrong), owner())
        checks = svc.checks() - before
    assert Counter(r.status_code for r in answers) == Counter({401: 10, 429: 190})
    assert sum(checks.values()) == 11
    # The owner waits for at most the ten checks let through; the broker gives auth 5 s.
    assert status == 202
    assert took < 5


async def test_another_address_waits_for_no_check_of_a_burst(start_app: StartApp) -> None:
    """Ten wrong logins at once from one address (its limit lets all ten through), then the
    owner's from another: with one bcrypt thread per client, the burst holds one thread and
    the owner's check starts at once on the spare, so it is answered after at most two of the
    ten (the one running when it arrived, and the next if its own lookup was slow)."""
    async with start_app(bcrypt_threads=1) as svc:
        answered: list[str] = []

        async def attempt(who: str, password: str, address: str) -> int:
            status = (await svc.login(ADMIN, password, address)).status_code
            answered.append(who)
            return status

        burst = [asyncio.create_task(attempt("burst", "wrong", ATTACKER)) for _ in range(10)]
        await await_for(lambda: asyncio.sleep(0, svc.checks().total() > 0), 10, what="a check")
        owner = await attempt("owner", SECRET, NEIGHBOUR)
        statuses = Counter(await asyncio.gather(*burst))
    assert owner == 202
    assert statuses == Counter({401: 10})
    assert answered.index("owner") <= 2, answered


async def test_a_full_line_for_bcrypt_is_503_with_retry_after_at_once(
    start_app: StartApp,
) -> None:
    async with start_app(bcrypt_threads=1, bcrypt_queue=1) as svc:
        before = svc.checks()
        finished: list[tuple[float, int, str | None, bool]] = []

        async def login(n: int) -> None:
            r = await svc.login(ADMIN, "wrong", f"10.2.0.{n}")
            finished.append(
                (
                    time.perf_counter(),
                    r.status_code,
                    r.headers.get("Retry-After"),
                    r.json()["error"],
                )
            )

        await asyncio.gather(*(login(n) for n in range(1, 21)))
        checks = svc.checks() - before
        # The refused attempts gave their places back: the next address still gets in.
        after = await svc.login(ADMIN, SECRET, "10.2.1.1")
    statuses = Counter(status for _, status, _, _ in finished)
    # One thread, the spare and one place in line: three checks.
    assert statuses == Counter({401: 3, 503: 17})
    assert sum(checks.values()) == 3
    busy = [f for f in finished if f[1] == 503]
    assert all(retry == "1" and error for _, _, retry, error in busy)
    # Answered before the first check was done, not after waiting in line.
    assert max(at for at, *_ in busy) < min(at for at, status, *_ in finished if status == 401)
    assert after.status_code == 202


async def test_an_ipv6_client_is_counted_as_its_64(per_address: Running, fast_user: str) -> None:
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3"):
        assert (await per_address.login(fast_user, "wrong", host)).status_code == 401
    assert (await per_address.login(fast_user, "right", "2001:db8:1:2::ffff")).status_code == 429
    assert (await per_address.login(fast_user, "right", "2001:db8:1:3::1")).status_code == 202


def test_whom_an_address_counts_as() -> None:
    assert client_of("10.0.0.1") == "10.0.0.1"
    assert client_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_of("fe80::1%eth0") == "fe80::/64"
    assert client_of("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_of("unknown") == "unknown"


def test_limits_that_would_let_one_address_slow_an_account_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="one address alone never slows an account"):
        AuthSettings(login_failures_per_ip_and_email="10/hour", login_failures_per_email="20/hour")
    assert AuthSettings().login_failures_per_email == "30/hour"


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
