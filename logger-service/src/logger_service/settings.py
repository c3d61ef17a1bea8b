"""The logger's settings, read once from the environment (names as in the contract)."""

from pydantic import Field, SecretStr, field_validator, model_validator
from svckit.contract import LIMITS
from svckit.settings import ServiceSettings

# What one `GET /logs` item takes beyond its name's and data's text: keys, id, two dates.
ITEM_OVERHEAD = 256


class LoggerSettings(ServiceSettings):
    port: int = 8084
    rpc_port: int = Field(
        5001,
        description="the Go `net/rpc` door: gob and jsonrpc on the same port, told apart by a"
        " connection's first byte",
    )
    grpc_port: int = Field(50001, description="the gRPC door")
    # The original used mongodb://mongo:27017 (compose sets that).
    mongo_url: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true",
        description="MongoDB URI. The service only connects: `make -C project run` points it"
        " at a MongoDB that answers or at the SecantusDB the launcher starts",
    )
    mongo_username: str | None = Field(
        None, description="user to authenticate as (the original used `admin`)"
    )
    mongo_password: SecretStr | None = Field(
        None,
        description="its password (the original used `password`); `MONGO_PASSWORD_FILE` reads"
        " it from a file (a Docker or Kubernetes secret)",
    )
    mongo_database: str = Field("logs", description="database holding the collection `logs`")
    mongo_timeout: float = Field(
        2.0,
        description="seconds: the deadline of every store call, server selection included, so"
        " an outage answers quickly",
    )
    write_batch_max: int = Field(
        default=128,
        ge=1,
        description="most entries in one store write; writes arriving while one is in flight"
        " join the next ([group commit](#group-commit)); `1` turns grouping off: every write"
        " its own `insert_one`",
    )
    writes_in_flight: int = Field(
        default=1,
        ge=1,
        description="store writes in flight at once; writes arriving while all are busy go"
        " together in the next (1 measured best on SecantusDB: more in flight make smaller"
        " batches)",
    )
    health_interval: float = Field(
        1.0, description="seconds between the store pings that drive the gRPC health status"
    )
    mongo_journal: bool = Field(
        True,
        description="write concern `j: true`: a write is acknowledged (202) once it is in"
        " MongoDB's journal, so it survives a crash; `false` acknowledges from memory",
    )
    logs_answer_max: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        description="most bytes of one `GET /logs` answer; entries stop being added when the"
        " next would pass it (at least the largest entry's JSON: about 395 KiB at the default"
        " caps)",
    )
    grpc_max_concurrent_rpcs: int = Field(
        default=256,
        ge=1,
        description="gRPC calls served at once; more are refused with `RESOURCE_EXHAUSTED`",
    )
    grpc_reflection: bool = Field(
        True,
        description="serve gRPC server reflection (grpcurl and friends); `false` where the"
        " service list should not be given away",
    )
    # The net/rpc door's bounds on one client.
    rpc_max_connections: int = Field(
        default=1024,
        ge=1,
        description="net/rpc connections open at once; beyond it a new connection is closed at"
        " once (one log line per 10 s says how many)",
    )
    rpc_max_connections_per_address: int = Field(
        default=64,
        ge=1,
        description="net/rpc connections one client address may hold; beyond it that"
        " address's new connection is closed at once, so one client cannot fill"
        " `RPC_MAX_CONNECTIONS` (the broker's pool holds `RPC_POOL_SIZE`, 4)",
    )
    rpc_idle_timeout: float = Field(
        default=600.0,
        gt=0,
        description="seconds a net/rpc connection may go with no request under way and none"
        " completed before it is closed (Go clients keep theirs open between calls; the"
        " broker's pool dials again)",
    )
    rpc_read_timeout: float = Field(
        default=30.0,
        gt=0,
        description="seconds in which a request, once its first bytes are in, must be"
        " complete, or the connection is closed",
    )
    rpc_max_buffered: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="bytes of replies a client has not read that the door keeps for it: past"
        " it the connection's replies wait (and, once its 64 calls in flight wait, its"
        " reading)",
    )
    rpc_write_timeout: float = Field(
        default=30.0,
        gt=0,
        description="seconds the unread replies may stay past `RPC_MAX_BUFFERED` before the"
        " connection is closed",
    )

    @field_validator("mongo_username", mode="after")
    @classmethod
    def _empty_user_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("mongo_password", mode="after")
    @classmethod
    def _empty_password_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value and value.get_secret_value() else None

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
