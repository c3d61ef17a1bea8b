"""The logger's settings, read once from the environment (names as in the contract)."""

from pydantic import Field, field_validator, model_validator
from svckit.contract import LIMITS
from svckit.settings import ServiceSettings

# What one `GET /logs` item takes beyond its name's and data's text: keys, id, two dates.
ITEM_OVERHEAD = 256


class LoggerSettings(ServiceSettings):
    port: int = 8084
    # The Go net/rpc door: gob and jsonrpc, told apart by a connection's first byte.
    rpc_port: int = 5001
    grpc_port: int = 50001
    # The original used mongodb://mongo:27017 (compose sets that); locally the launcher points
    # this at whatever MongoDB answers, or at the SecantusDB it starts.
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_username: str | None = None
    mongo_password: str | None = None
    mongo_database: str = "logs"
    # Deadline of every store call (server selection included), so an outage answers quickly.
    mongo_timeout: float = 2.0
    # Most entries per store write; writes arriving while one is in flight join the next.
    write_batch_max: int = Field(default=128, ge=1)
    # Store writes in flight at once; more wait and go together in the next.
    writes_in_flight: int = Field(default=1, ge=1)
    # How often the gRPC health status is refreshed from a store ping.
    health_interval: float = 1.0
    # Each write waits for MongoDB's journal (j=true), so a 202 means the entry survives a crash.
    mongo_journal: bool = True
    # Most bytes of one `GET /logs` answer: entries stop being added once the next would pass it.
    logs_answer_max: int = Field(default=1024 * 1024, ge=64 * 1024)
    # gRPC calls served at once; more are refused with RESOURCE_EXHAUSTED.
    grpc_max_concurrent_rpcs: int = Field(default=256, ge=1)
    # gRPC server reflection (grpcurl and friends); off where nobody should list the services.
    grpc_reflection: bool = True
    # The net/rpc door's bounds on one client (README: Settings).
    rpc_max_connections: int = Field(default=1024, ge=1)
    rpc_max_connections_per_address: int = Field(default=64, ge=1)
    rpc_idle_timeout: float = Field(default=600.0, gt=0)
    rpc_read_timeout: float = Field(default=30.0, gt=0)
    rpc_max_buffered: int = Field(default=1024 * 1024, ge=1024)
    rpc_write_timeout: float = Field(default=30.0, gt=0)

    @field_validator("mongo_username", "mongo_password", mode="after")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _one_entry_fits(self) -> "LoggerSettings":
        # A budget smaller than the largest entry could answer nothing at all.
        least = LIMITS.json_max + ITEM_OVERHEAD + 1024
        if self.logs_answer_max < least:
            raise ValueError(
                f"LOGS_ANSWER_MAX must be at least {least} bytes: the largest entry "
                "(LOG_NAME_MAX, LOG_DATA_MAX) must fit in one answer"
            )
        return self
