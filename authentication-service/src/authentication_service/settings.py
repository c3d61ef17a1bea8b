"""The authentication service's settings, read once from the environment (contract names)."""

from limits import parse_many
from pydantic import field_validator
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
    # Cost of the stand-in hash an unknown email is checked against: match your stored hashes.
    bcrypt_cost: int = 12
    # Failed logins allowed per client address (any account) and per account (from any
    # address), in `limits` notation; the README's threat model explains the numbers.
    login_failures_per_ip: str = "10/minute"
    login_failures_per_email: str = "30/hour"
    # Where failures are counted: memory:// (this process) or redis://host:port/db (shared).
    rate_limit_storage: str = "memory://"
    # Prefix of the counters' keys, so deployments can share one Redis.
    rate_limit_namespace: str = "authentication"
    # Deadline of one rate-limit storage call; on failure the login proceeds unlimited.
    rate_limit_timeout: float = 0.5

    @field_validator("login_failures_per_ip", "login_failures_per_email")
    @classmethod
    def _one_limit(cls, value: str) -> str:
        if len(parse_many(value)) != 1:
            raise ValueError("give exactly one limit, e.g. 10/minute")
        return value

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
