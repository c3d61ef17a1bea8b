"""The listener's settings, read once from the environment (names as in the contract)."""

from pydantic import Field
from svckit.settings import ServiceSettings


class ListenerSettings(ServiceSettings):
    # Health and readiness only; the work arrives over AMQP.
    port: int = 8085
    rabbit_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    logger_url: str = "http://127.0.0.1:8084"
    exchange: str = "logs_topic"
    queue: str = "logs.listener"
    dead_exchange: str = "logs_topic.dlx"
    dead_queue: str = "logs.dead"
    # Deliveries a message gets while the logger answers 5xx or times out, before dead-lettering.
    max_deliveries: int = Field(default=5, ge=1)
    # Most entries per forward to the logger (`POST /logs`); deliveries that arrive while a
    # forward is in flight go together in the next.
    batch_max: int = Field(default=100, ge=1, le=1000)
    # Forwards in flight at once: the next is sent while the logger stores the last.
    forwards_in_flight: int = Field(default=2, ge=1)
    # Unacknowledged messages at once: a batch in flight and the next one gathering.
    prefetch: int = Field(default=200, ge=1)
    # Deadline of one POST /log, in seconds.
    logger_timeout: float = Field(default=5.0, gt=0)
    # First back-off after a failed forward, doubled per retry up to retry_max_delay (seconds).
    retry_delay: float = Field(default=0.5, gt=0)
    retry_max_delay: float = Field(default=10.0, gt=0)
    # Deadline of the broker's confirm when a message is dead-lettered, in seconds.
    confirm_timeout: float = Field(default=5.0, gt=0)
    # Largest body parsed (bytes); a larger one is dead-lettered. The logger's own limit.
    max_message_size: int = Field(default=1024 * 1024, ge=1024)
    # Seconds a held delivery may go without progress before `/ready` says the consumer is
    # stuck: above the longest quiet step (a forward tried twice, a ping, a back-off).
    stuck_after: float = Field(default=60.0, gt=0)
