"""The broker's settings, read once from the environment (names as in the contract)."""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import NoDecode
from svckit.netrpc import Codec
from svckit.settings import ServiceSettings

# Most bytes the broker reads of one downstream answer, unless DOWNSTREAM_ANSWER_MAX says.
DOWNSTREAM_ANSWER_MAX = 2 * 1024 * 1024


class BrokerSettings(ServiceSettings):
    port: int = 8080
    auth_url: str = "http://127.0.0.1:8081"
    mail_url: str = "http://127.0.0.1:8083"
    logger_url: str = "http://127.0.0.1:8084"
    logger_rpc_addr: str = "127.0.0.1:5001"
    # Go's net/rpc codec for that door: gob is what the original broker spoke and what both
    # our logger and the original Go logger serve; jsonrpc only our logger does.
    logger_rpc_codec: Codec = "gob"
    logger_grpc_addr: str = "127.0.0.1:50001"
    rabbit_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    exchange: str = "logs_topic"
    # Comma-separated origins the front-end's page is served from.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8082", "http://127.0.0.1:8082"]
    )

    # Per-call deadlines in seconds. Auth runs bcrypt (cost 12) and logs before it answers;
    # mail waits on SMTP (connect and send, 10 s each), so its deadline outlasts the mailer's own.
    auth_timeout: float = 5.0
    mail_timeout: float = 25.0
    logger_timeout: float = 5.0
    # How long `/log-rabbit` waits for RabbitMQ's publisher confirm.
    rabbit_timeout: float = 5.0
    # Open connections the pooled HTTP client keeps per downstream host.
    http_max_connections: int = 100
    # Persistent TCP connections to the logger's RPC door; calls are pipelined on each.
    rpc_pool_size: int = 4
    # Most bytes the broker reads of one downstream answer (HTTP body, gRPC message); above
    # the logger's LOGS_ANSWER_MAX, so its `GET /logs` always fits.
    downstream_answer_max: int = Field(default=DOWNSTREAM_ANSWER_MAX, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        # An origin is scheme://host[:port]; a wildcard would let any page call the gateway.
        for origin in origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or "*" in origin:
                raise ValueError(f"{origin!r} is not an exact origin (scheme://host[:port])")
            if parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ValueError(f"{origin!r} is not an origin: it has a path or a query")
        return [origin.rstrip("/") for origin in origins]

    @field_validator("auth_url", "mail_url", "logger_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
