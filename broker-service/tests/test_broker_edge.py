"""The public edge: login limits count each real client, nobody sheds a limit by claiming
another address, and a failed login costs the same whether the email exists or not.

Clients are told apart by their source address on loopback (127.0.0.2, 127.0.0.3, ...). The
broker trusts X-Forwarded-For only from 127.0.0.1 (FORWARDED_ALLOW_IPS, its default: the
reverse proxy's place), passes the client's address on to the authentication service, which
believes it from the broker only.
"""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import bcrypt
import httpx
import pytest
from devkit.process import ServiceProcess
from svckit import dsn

ADMIN = {"email": "admin@example.com", "password": "verysecret"}
# The authentication service's default: failures allowed per client address a minute.
PER_ADDRESS = 10

Client = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_at(broker_proc: ServiceProcess) -> Client:
    """`async with client_at("127.0.0.2") as c`: a client whose connections come from there."""

    @asynccontextmanager
    async def client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(
            base_url=broker_proc.url, transport=transport, timeout=15
        ) as c:
            yield c

    return client


async def login(
    client: httpx.AsyncClient, email: str, password: str, **headers: str
) -> httpx.Response:
    body = {"action": "auth", "auth": {"email": email, "password": password}}
    return await client.post("/handle", json=body, headers=headers)


async def fail_until_limited(client: httpx.AsyncClient, run_id: str, **headers: str) -> None:
    for n in range(PER_ADDRESS):
        r = await login(client, f"nobody-{n}-{run_id}@example.com", "guess", **headers)
        assert r.status_code == 401, r.text
    r = await login(client, f"nobody-more-{run_id}@example.com", "guess", **headers)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1


async def test_one_clients_failures_never_refuse_another_clients_login(
    client_at: Client, run_id: str
) -> None:
    async with client_at("127.0.0.2") as attacker, client_at("127.0.0.3") as owner:
        await fail_until_limited(attacker, run_id)
        # The attacker itself is held back, even with the right password...
        assert (await login(attacker, **ADMIN)).status_code == 429
        # ...and everyone else logs in as before: the broker's address is not the client's.
        r = await login(owner, **ADMIN)
        assert r.status_code == 202, r.text


async def test_a_spoofed_forwarded_for_from_a_client_changes_nothing(
    client_at: Client, run_id: str
) -> None:
    async with client_at("127.0.0.4") as attacker:
        await fail_until_limited(attacker, run_id)
        for claimed in ("198.51.100.7", "127.0.0.3", "127.0.0.1"):
            r = await login(attacker, **ADMIN, **{"X-Forwarded-For": claimed})
            assert r.status_code == 429, f"X-Forwarded-For {claimed} was believed"


async def test_the_proxys_forwarded_for_names_the_client(client_at: Client, run_id: str) -> None:
    # From 127.0.0.1, where the reverse proxy would be, the header is the client's address.
    async with client_at("127.0.0.1") as proxy, client_at("127.0.0.5") as direct:
        await fail_until_limited(proxy, run_id, **{"X-Forwarded-For": "127.0.0.5"})
        assert (await login(direct, **ADMIN)).status_code == 429
        r = await login(proxy, **ADMIN, **{"X-Forwarded-For": "127.0.0.6"})
        assert r.status_code == 202, r.text


async def test_unknown_email_and_wrong_password_take_the_same_time(
    client_at: Client, postgres_dsn: str, run_id: str
) -> None:
    known = f"timing-{run_id}@example.com"
    # The stand-in hash of an unknown email is made at BCRYPT_COST (12): the same here.
    hashed = await asyncio.to_thread(bcrypt.hashpw, b"right", bcrypt.gensalt(12, b"2a"))
    conn = await asyncpg.connect(dsn.to_uri(dsn.parse(postgres_dsn)))
    try:
        await conn.execute(
            "INSERT INTO users (email, first_name, last_name, password, user_active,"
            " created_at, updated_at) VALUES ($1, 'Timing', 'User', $2, 1, now(), now())",
            known,
            hashed.decode(),
        )
    finally:
        await conn.close()

    took: dict[str, list[float]] = {"unknown": [], "wrong": []}
    # Alternating, each from an address of its own, so neither limit nor warm-up takes sides.
    for n in range(8):
        for kind, email in (("unknown", f"nobody-t{n}-{run_id}@example.com"), ("wrong", known)):
            source = f"127.0.1.{2 * n + (kind == 'wrong') + 10}"
            async with client_at(source) as client:
                started = time.perf_counter()
                r = await login(client, email, "guess")
                took[kind].append(time.perf_counter() - started)
            assert (r.status_code, r.json()["message"]) == (401, "invalid credentials")
    unknown, wrong = (statistics.median(took[k]) for k in ("unknown", "wrong"))
    # One bcrypt check at cost 12 (about 0.25 s) either way; noise is tens of milliseconds.
    assert 0.8 < unknown / wrong < 1.25, took
