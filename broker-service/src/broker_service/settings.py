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
    auth_url: str = Field("http://127.0.0.1:8081", description="the authentication service")
    mail_url: str = Field("http://127.0.0.1:8083", description="the mail service")
    logger_url: str = Field(
        "http://127.0.0.1:8084",
        description="the logger's HTTP door (`/log`, `/logs`, `/ping`)",
    )
    logger_rpc_addr: str = Field(
        "127.0.0.1:5001", description="the logger's `net/rpc` door (`host:port`)"
    )
    # gob is what the original broker spoke and what both our logger and the original Go
    # logger serve; jsonrpc only our logger does.
    logger_rpc_codec: Codec = Field(
        "gob",
        description="`gob` (Go's default `net/rpc` codec) or `jsonrpc` (Go's"
        " `net/rpc/jsonrpc`): how the `log` action and `/log-rpc` talk to that door"
        " ([why gob](../docs/decisions.md#the-brokers-rpc-codec-is-gob))",
    )
    logger_grpc_addr: str = Field(
        "127.0.0.1:50001", description="the logger's gRPC door (`host:port`)"
    )
    rabbit_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ")
    exchange: str = Field("logs_topic", description="the topic exchange `/log-rabbit` publishes to")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8082", "http://127.0.0.1:8082"],
        description="comma-separated exact origins (`scheme://host[:port]`, no wildcard, no"
        " path) allowed to call the broker from a browser: the front-end's page",
    )

    # Per-call deadlines. Auth runs bcrypt (cost 12) and logs before it answers; mail waits
    # on SMTP (connect and send, 10 s each), so its deadline outlasts the mailer's own.
    auth_timeout: float = Field(
        5.0, description="seconds one call to auth may take (it runs bcrypt, cost 12)"
    )
    mail_timeout: float = Field(
        25.0,
        description="seconds one call to mail may take (longer than mail's own SMTP connect"
        " and send deadlines, so mail's 502/504 comes through)",
    )
    logger_timeout: float = Field(
        5.0, description="seconds one call to the logger may take, on any door"
    )
    rabbit_timeout: float = Field(
        5.0, description="seconds `/log-rabbit` waits for RabbitMQ's publisher confirm"
    )
    http_max_connections: int = Field(
        100, description="open connections the pooled HTTP client keeps per downstream host"
    )
    rpc_pool_size: int = Field(
        4,
        description="persistent TCP connections to the logger's RPC door; calls are pipelined"
        " on each",
    )
    downstream_answer_max: int = Field(
        default=DOWNSTREAM_ANSWER_MAX,
        ge=1,
        description="most bytes the broker reads of one downstream answer: an HTTP body (read"
        " in chunks; a bigger `Content-Length` is refused unread) or a gRPC message (the"
        " channel's `max_receive_message_length`); more is a 502 naming the service. Above the"
        " logger's `LOGS_ANSWER_MAX`, so its `GET /logs` always fits",
    )

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
