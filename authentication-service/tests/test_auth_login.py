"""`POST /authenticate` in this process against the run's own PostgreSQL database."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncpg
import bcrypt
import pytest
from authentication_service.store import SEED_HASH
from devkit.net import free_port
from devkit.wait import await_for
from svckit import dsn

if TYPE_CHECKING:
    from auth_fixtures import LogReceiver, Running, StartApp, UsersTable

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture(scope="module")
async def svc(start_app: StartApp, log_receiver: LogReceiver) -> AsyncIterator[Running]:
    async with start_app(logger_url=log_receiver.url) as running:
        yield running


async def test_a_good_login_is_202_with_the_user_and_never_the_hash(svc: Running) -> None:
    r = await svc.login("admin@example.com", "verysecret")
    assert r.status_code == 202
    body = r.json()
    assert (body["error"], body["message"]) == (False, "Logged in user admin@example.com")
    user = body["data"]
    assert set(user) == {
        "id", "email", "first_name", "last_name", "active", "created_at", "updated_at",
    }  # fmt: skip
    assert (user["email"], user["first_name"], user["last_name"], user["active"]) == (
        "admin@example.com",
        "Admin",
        "User",
        1,
    )
    assert RFC3339_UTC.fullmatch(user["created_at"]), user
    assert "$2a$" not in r.text


async def test_each_login_is_recorded_with_the_logger(
    svc: Running, log_receiver: LogReceiver
) -> None:
    log_receiver.entries.clear()
    assert (await svc.login("admin@example.com", "verysecret")).status_code == 202
    assert log_receiver.entries == [
        {"name": "authentication", "data": "admin@example.com logged in"}
    ]


async def test_a_failed_login_is_not_recorded(svc: Running, log_receiver: LogReceiver) -> None:
    log_receiver.entries.clear()
    assert (await svc.login("admin@example.com", "wrong")).status_code == 401
    assert log_receiver.entries == []


async def test_wrong_password_and_unknown_email_are_the_same_401(svc: Running) -> None:
    wrong = await svc.login("admin@example.com", "not the password")
    unknown = await svc.login("nobody-at-all@example.com", "verysecret")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": True, "message": "invalid credentials"}


async def test_both_failures_pay_for_exactly_one_check_at_the_stored_cost(svc: Running) -> None:
    stored_cost = int(SEED_HASH[4:6])
    before = svc.checks()
    await svc.login("admin@example.com", "not the password")
    after_wrong = svc.checks()
    await svc.login("nobody-at-all@example.com", "not the password")
    after_unknown = svc.checks()
    assert after_wrong - before == Counter({stored_cost: 1})
    assert after_unknown - after_wrong == Counter({stored_cost: 1})


async def test_the_go_made_seed_hash_verifies_and_is_never_rewritten(
    svc: Running, users: UsersTable
) -> None:
    assert (await svc.login("admin@example.com", "verysecret")).status_code == 202
    rows = await users.fetch("SELECT password FROM users WHERE email = 'admin@example.com'")
    assert [r["password"] for r in rows] == [SEED_HASH]


async def test_the_72_byte_rule_holds_through_the_door(svc: Running, users: UsersTable) -> None:
    secret = "p" * 72
    await users.add(
        "long72@example.com", bcrypt.hashpw(secret.encode(), bcrypt.gensalt(4, b"2a")).decode()
    )
    assert (await svc.login("long72@example.com", secret + "ignored")).status_code == 202
    assert (await svc.login("long72@example.com", secret[:71])).status_code == 401


async def test_a_row_whose_password_is_not_a_hash_fails_like_any_other(
    svc: Running, users: UsersTable
) -> None:
    await users.add("broken@example.com", "plain-text")
    before = svc.checks()
    r = await svc.login("broken@example.com", "plain-text")
    assert (r.status_code, r.json()["message"]) == (401, "invalid credentials")
    assert svc.checks() - before == Counter({12: 1})


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"email": "admin@example.com"', {"content-type": "application/json"}, "malformed JSON"),
        (b'{"email": "admin@example.com"', {}, "malformed JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, "the body must be a JSON object"),
        (b'{"email": "admin@example.com"}', {}, "password: Field required"),
        (b'{"email": 5, "password": "x"}', {}, "email: Input should be a valid string"),
        (b'{"email": "admin", "password": "x"}', {}, "email: not an email address"),
        (b'{"email": "a@b.com", "password": null}', {}, "password: Input should be a valid"),
    ],
)
async def test_malformed_bodies_are_400_saying_what_is_wrong(
    svc: Running, body: bytes, headers: dict[str, str], message: str
) -> None:
    async with svc.client() as c:
        r = await c.post("/authenticate", content=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"] is True
    assert r.json()["message"].startswith(message), r.json()


async def test_like_gos_decoder_field_names_match_in_any_case_and_any_content_type(
    svc: Running,
) -> None:
    async with svc.client() as c:
        r = await c.post(
            "/authenticate",
            content=b'{"Email": "admin@example.com", "PASSWORD": "verysecret", "extra": 1}',
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 202, r.text


async def test_ready_names_postgres(svc: Running) -> None:
    async with svc.client() as c:
        r = await c.get("/ready")
    assert r.json() == {"error": False, "message": "ready", "data": {"postgres": "ok"}}


async def test_seeding_is_idempotent_a_second_start_changes_nothing(
    svc: Running, start_app: StartApp, users: UsersTable
) -> None:
    query = "SELECT id, email, password, created_at, updated_at FROM users ORDER BY id"
    before = await users.fetch(query)
    async with start_app() as second:
        assert (await second.login("admin@example.com", "verysecret")).status_code == 202
    assert await users.fetch(query) == before
    admins = [r for r in before if r["email"] == "admin@example.com"]
    assert len(admins) == 1


async def test_the_table_has_the_seed_readmes_columns(svc: Running, users: UsersTable) -> None:
    rows = await users.fetch(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_name = 'users' ORDER BY ordinal_position"
    )
    assert [(r["column_name"], r["data_type"]) for r in rows] == [
        ("id", "integer"),
        ("email", "character varying"),
        ("first_name", "character varying"),
        ("last_name", "character varying"),
        ("password", "character varying"),
        ("user_active", "integer"),
        ("created_at", "timestamp without time zone"),
        ("updated_at", "timestamp without time zone"),
    ]
    with pytest.raises(asyncpg.UniqueViolationError):
        await users.add("admin@example.com", SEED_HASH)


async def test_two_replicas_starting_together_create_one_database_and_one_seed(
    start_app: StartApp, auth_dsn: str, run_id: str
) -> None:
    name = f"users_{run_id}_race"
    racing = dsn.with_database(auth_dsn, name)
    try:
        async with (
            start_app(racing, wait_ready=False) as a,
            start_app(racing, wait_ready=False) as b,
        ):
            await await_for(a.ready, 20, what="replica a")
            await await_for(b.ready, 20, what="replica b")
            assert (await a.login("admin@example.com", "verysecret")).status_code == 202
            assert (await b.login("admin@example.com", "verysecret")).status_code == 202
        conn = await asyncpg.connect(dsn.to_uri(dsn.parse(racing)))
        assert await conn.fetchval("SELECT count(*) FROM users") == 1
        await conn.close()
    finally:
        conn = await asyncpg.connect(dsn.to_uri(dsn.parse(dsn.with_database(auth_dsn, "postgres"))))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_a_logger_that_is_down_still_lets_the_login_through(start_app: StartApp) -> None:
    async with start_app(logger_url=f"http://127.0.0.1:{free_port()}") as svc:
        r = await svc.login("admin@example.com", "verysecret")
    assert r.status_code == 202


async def test_a_logger_that_hangs_or_fails_costs_its_deadline_and_no_more(
    start_app: StartApp, log_receiver: LogReceiver
) -> None:
    async with start_app(logger_url=log_receiver.url, logger_timeout=0.3) as svc:
        try:
            log_receiver.delay = 5.0
            started = time.perf_counter()
            hung = await svc.login("admin@example.com", "verysecret")
            elapsed = time.perf_counter() - started
            log_receiver.delay, log_receiver.status = 0.0, 500
            failed = await svc.login("admin@example.com", "verysecret")
        finally:
            log_receiver.delay, log_receiver.status = 0.0, 202
    assert hung.status_code == failed.status_code == 202
    # The logger's 5 s are cut at 0.3 s; the rest is one bcrypt check.
    assert elapsed < 4.0


async def test_postgres_missing_at_start_is_503_and_ready_says_why(start_app: StartApp) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/users"
    async with start_app(nowhere, wait_ready=False, db_timeout=0.5) as svc, svc.client() as c:
        ping = await c.get("/ping")
        ready = await c.get("/ready")
        login = await c.post(
            "/authenticate", json={"email": "admin@example.com", "password": "verysecret"}
        )
    assert ping.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["data"] == {"postgres": "database is unavailable: not connected yet"}
    assert (login.status_code, login.json()["message"]) == (
        503,
        "database is unavailable: not connected yet",
    )


async def test_an_email_near_1_mib_is_400_at_once_before_any_address_parsing(
    svc: Running,
) -> None:
    # As long as the body limit (1 MiB) lets through.
    body = {"email": "a" * ((1 << 20) - 100) + "@example.com", "password": "x"}
    before = svc.checks()
    async with svc.client() as c:
        started = time.perf_counter()
        r = await c.post("/authenticate", json=body)
        took = time.perf_counter() - started
    assert r.status_code == 400
    assert r.json()["message"].startswith("email: not an email address: longer than 254")
    assert svc.checks() == before
    # email-validator spent most of a second on this; the JSON parse alone is milliseconds.
    assert took < 0.2
