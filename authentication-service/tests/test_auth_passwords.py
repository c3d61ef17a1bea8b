"""bcrypt as Go's golang.org/x/crypto/bcrypt: its `$2a$` hashes, its 72-byte rule, one check."""

import asyncio
from collections import Counter

import bcrypt
import pytest
from authentication_service.passwords import PasswordChecker, cost_of, password_bytes
from authentication_service.store import SEED_HASH

# The original project's users.sql seed, made by Go's bcrypt (cost 12) from `verysecret`.
GO_HASH = "$2a$12$1zGLuYDDNvATh4RA4avbKuheAMpb1svexSzrQm7up.bnpwQHs0jNe"


def go_format_hash(secret: bytes, cost: int = 4) -> str:
    """A hash in Go's exact format (`$2a$`, two-digit cost, 53 characters of salt and digest)."""
    return bcrypt.hashpw(secret, bcrypt.gensalt(cost, b"2a")).decode()


@pytest.fixture
async def checker() -> PasswordChecker:
    made = PasswordChecker(threads=2)
    await made.prepare(cost=4)
    return made


async def test_a_hash_made_by_go_verifies_as_it_is(checker: PasswordChecker) -> None:
    assert SEED_HASH == GO_HASH
    assert await checker.matches("verysecret", GO_HASH)
    assert not await checker.matches("verysecreT", GO_HASH)
    assert checker.checks == Counter({12: 2})


async def test_only_the_first_72_bytes_count_as_in_go(checker: PasswordChecker) -> None:
    long = "x" * 72
    hashed = go_format_hash(long.encode())
    assert await checker.matches(long + "anything after byte 72", hashed)
    assert not await checker.matches(long[:71], hashed)


async def test_the_cut_falls_on_a_byte_even_inside_a_character(checker: PasswordChecker) -> None:
    # é and è are both two bytes starting with 0xC3; byte 72 is that first byte.
    hashed = go_format_hash(password_bytes("a" * 71 + "é"))
    assert password_bytes("a" * 71 + "é") == b"a" * 71 + b"\xc3"
    assert await checker.matches("a" * 71 + "è", hashed)


async def test_a_lone_surrogate_is_read_as_go_reads_it(checker: PasswordChecker) -> None:
    # Go's JSON decoder turns "\ud800" into U+FFFD.
    hashed = go_format_hash("pw\ufffd".encode())
    assert await checker.matches("pw\ud800", hashed)


async def test_no_user_and_a_garbage_hash_each_cost_one_check_at_the_stand_in_cost(
    checker: PasswordChecker,
) -> None:
    assert not await checker.matches("anything", None)
    assert not await checker.matches("anything", "not-a-bcrypt-hash")
    assert checker.checks == Counter({4: 2})


def test_the_cost_is_read_from_the_hash() -> None:
    assert cost_of(GO_HASH.encode()) == 12
    assert cost_of(b"$2b$10$" + b"a" * 53) == 10
    assert cost_of(b"$2a$99$" + b"a" * 53) is None
    assert cost_of(b"plain") is None


async def test_a_check_runs_off_the_event_loop(checker: PasswordChecker) -> None:
    hashed = go_format_hash(b"pw", cost=12)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    tick = asyncio.create_task(ticker())
    assert await checker.matches("pw", hashed)
    tick.cancel()
    # Run on the loop, a check would leave the ticker one turn at most.
    assert ticks >= 3
