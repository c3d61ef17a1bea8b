"""The listener's settings, read once from the environment (names as in the contract)."""

from pydantic import Field
from svckit.settings import ServiceSettings


class ListenerSettings(ServiceSettings):
    port: int = Field(
        8085,
        description="HTTP port for `GET/HEAD /ping`, `GET /ready` and `/metrics` only: the work"
        " arrives over AMQP",
    )
    rabbit_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ (password never logged)"
    )
    logger_url: str = Field("http://127.0.0.1:8084", description="the logger's HTTP door")
    exchange: str = Field(
        "logs_topic", description="the topic exchange the events are published to"
    )
    queue: str = Field(
        "logs.listener", description="the shared, durable queue all replicas consume"
    )
    dead_exchange: str = Field(
        "logs_topic.dlx", description="where refused and exhausted messages go"
    )
    dead_queue: str = Field("logs.dead", description="the queue holding them")
    max_deliveries: int = Field(
        default=5,
        ge=1,
        description="tries a message gets while the logger fails on it (5xx or no answer; not"
        " while the logger is away), then dead-lettered",
    )
    batch_max: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="most messages forwarded in one `POST /logs`; deliveries that arrive while"
        " a forward is in flight go together in the next",
    )
    forwards_in_flight: int = Field(
        default=2,
        ge=1,
        description="forwards to the logger at once: the next goes while the logger stores the"
        " last",
    )
    prefetch: int = Field(
        default=200,
        ge=1,
        description="unacknowledged messages at once: a batch in flight and the next one"
        " gathering (keep it about twice `BATCH_MAX`)",
    )
    logger_timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds per `POST /log` or `POST /logs` (connect: at most 2); keep it"
        " above the logger's own store deadline, so a slow store answers 503 (an outage)"
        " before the listener gives up on the call",
    )
    retry_delay: float = Field(
        default=0.5,
        gt=0,
        description="first back-off in seconds after a failed forward; doubles per retry",
    )
    retry_max_delay: float = Field(default=10.0, gt=0, description="back-off cap in seconds")
    confirm_timeout: float = Field(
        default=5.0,
        gt=0,
        description="seconds to wait for RabbitMQ's confirm of a dead-letter or retry publish",
    )
    max_message_size: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="largest body (bytes) parsed; a larger one is dead-lettered unparsed (the"
        " logger's own limit is 1 MiB)",
    )
    stuck_after: float = Field(
        default=60.0,
        gt=0,
        description="seconds a held delivery may go without progress before `/ready` answers"
        " 503 naming the consumer; keep it above 2 × `LOGGER_TIMEOUT` + 1 + `RETRY_MAX_DELAY`"
        " (the longest quiet step: a forward tried twice, a ping, a back-off)",
    )
