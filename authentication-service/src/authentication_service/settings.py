"""The authentication service's settings, read once from the environment (contract names)."""

import math
from typing import Self

from limits import parse, parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from svckit.dsn import Target
from svckit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    port: int = 8081
    dsn: str = Field(
        "host=127.0.0.1 port=5432 user=postgres dbname=users",
        description="PostgreSQL, in libpq keyword form or as a `postgresql://` URI. The"
        " original's `host=postgres port=5432 user=postgres password=password dbname=users"
        " sslmode=disable timezone=UTC connect_timeout=5` works as it is: unknown keywords such"
        " as `timezone` become session settings, as Go's pgx made them. The database is created"
        " if missing",
    )
    db_password: SecretStr | None = Field(
        None,
        description="the database password, replacing the DSN's own (e.g. `DB_PASSWORD_FILE="
        "/run/secrets/postgres_password`, so the DSN itself holds no secret)",
    )
    db_timeout: float = Field(
        2.0,
        description="seconds one database call may take, a connection from the pool included;"
        " also the connect timeout unless the DSN has `connect_timeout`",
    )
    db_pool_size: int = Field(10, description="connections in the pool at most")
    logger_url: str = Field(
        "http://127.0.0.1:8084", description="the logger service (its `POST /log`)"
    )
    logger_timeout: float = Field(
        1.0,
        description="seconds the login record may take before it is given up; a late logger"
        " never denies a login",
    )
    bcrypt_threads: int = Field(
        0,
        description="concurrent bcrypt checks of one client (worker threads; one more is kept"
        " for the other clients); 0: one per core",
    )
    bcrypt_queue: int = Field(
        16,
        ge=0,
        description="logins that may wait for a bcrypt thread; the next one gets 503 with"
        " `Retry-After` at once",
    )
    bcrypt_cost: int = Field(
        12,
        description="cost of the stand-in hash an unknown email is checked against: set it to"
        " the cost of your stored hashes (the seed's is 12; Go's `DefaultCost` is 10)",
    )
    # The README's threat model explains the numbers.
    login_failures_per_ip: str = Field(
        "10/minute",
        description="failed logins allowed per client address (an IPv6 one: per /64), whatever"
        " the account, then 429 (`limits` notation: `10/minute`, `100 per hour`, `3/2 seconds`)",
    )
    login_failures_per_ip_and_email: str = Field(
        "10/hour",
        description="failed logins allowed per client address at one account; then 429 for"
        " that address at that account",
    )
    login_failures_per_email: str = Field(
        "30/hour",
        description="failed logins per account, from all addresses together, before every"
        " attempt at it is slowed by `LOGIN_ACCOUNT_DELAY` (never 429); must exceed what one"
        " address may fail there",
    )
    login_account_delay: float = Field(
        1.0,
        ge=0,
        le=5,
        description="seconds (0 to 5) each attempt at an account over"
        " `LOGIN_FAILURES_PER_EMAIL` waits before its answer",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="where failures are counted: `memory://` (this process) or"
        " `redis://host:6379/0` (shared by replicas)",
    )
    rate_limit_namespace: str = Field(
        "authentication",
        description="prefix of the counters' keys, so deployments can share one Redis",
    )
    rate_limit_timeout: float = Field(
        0.5,
        description="seconds a rate-limit storage call may take before the login proceeds"
        " unlimited",
    )

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

    def target(self) -> Target:
        """Where the users are: the DSN, with `DB_PASSWORD` when it is set."""
        password = self.db_password.get_secret_value() if self.db_password else None
        return Target.from_dsn(self.dsn, password)

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
