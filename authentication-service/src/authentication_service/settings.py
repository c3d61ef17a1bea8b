"""The authentication service's settings, read once from the environment (contract names)."""

import math
from typing import Self

from limits import parse, parse_many
from pydantic import Field, field_validator, model_validator
from svckit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    port: int = 8081
    # PostgreSQL, as libpq keywords (the original's form) or a postgresql:// URI.
    dsn: str = "host=127.0.0.1 port=5432 user=postgres dbname=users"
    # Deadline of one database call (a connection from the pool included).
    db_timeout: float = 2.0
    db_pool_size: int = 10
    logger_url: str = "http://127.0.0.1:8084"
    # Deadline of the call recording a login with the logger; a late logger never denies one.
    logger_timeout: float = 1.0
    # Threads (and concurrent checks) for bcrypt; 0 means one per core.
    bcrypt_threads: int = 0
    # Checks that may wait for a thread; one more is answered 503 at once.
    bcrypt_queue: int = Field(16, ge=0)
    # Cost of the stand-in hash an unknown email is checked against: match your stored hashes.
    bcrypt_cost: int = 12
    # Failed logins allowed per client address (any account) and per address and account
    # (429 over either), and per account from all addresses (over it: a delay, never 429), in
    # `limits` notation; the README's threat model explains the numbers.
    login_failures_per_ip: str = "10/minute"
    login_failures_per_ip_and_email: str = "10/hour"
    login_failures_per_email: str = "30/hour"
    # Seconds every attempt at an account over its limit waits before it is answered.
    login_account_delay: float = Field(1.0, ge=0, le=5)
    # Where failures are counted: memory:// (this process) or redis://host:port/db (shared).
    rate_limit_storage: str = "memory://"
    # Prefix of the counters' keys, so deployments can share one Redis.
    rate_limit_namespace: str = "authentication"
    # Deadline of one rate-limit storage call; on failure the login proceeds unlimited.
    rate_limit_timeout: float = 0.5

    @field_validator(
        "login_failures_per_ip", "login_failures_per_ip_and_email", "login_failures_per_email"
    )
    @classmethod
    def _one_limit(cls, value: str) -> str:
        if len(parse_many(value)) != 1:
            raise ValueError("give exactly one limit, e.g. 10/minute")
        return value

    @model_validator(mode="after")
    def _one_address_cannot_slow_an_account(self) -> Self:
        account = parse(self.login_failures_per_email)
        # The most one address may fail at one account within the account's window, counted
        # generously (a moving window of w holds at most its amount in any span of w).
        most = min(
            limit.amount * (math.floor(account.get_expiry() / limit.get_expiry()) + 1)
            for limit in map(
                parse, [self.login_failures_per_ip, self.login_failures_per_ip_and_email]
            )
        )
        if most >= account.amount:
            raise ValueError(
                f"LOGIN_FAILURES_PER_EMAIL must allow more than one address can fail ({most})"
                " within its window, so that one address alone never slows an account"
            )
        return self

    @field_validator("bcrypt_cost")
    @classmethod
    def _bcrypt_cost(cls, value: int) -> int:
        if not 4 <= value <= 31:
            raise ValueError("bcrypt costs run from 4 to 31")
        return value

    @field_validator("logger_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
