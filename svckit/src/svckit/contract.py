"""The logger's contract, once: what an entry is and how each door of the logger names it.

- The entry: `Entry` (`name`, `data`) with its caps, `LIMITS` (`LOG_NAME_MAX`, `LOG_DATA_MAX`,
  read once from the environment by the logger and the broker alike, so both judge an entry
  the same way), and the HTTP door's idempotency key `EventId`.
- HTTP and RabbitMQ carry an entry as the JSON body `log_body` builds: `{"name","data"}`, plus
  `event_id` on `POST /log` when the listener forwards a message.
- Go's `net/rpc`: the method `LOG_INFO` (`RPCServer.LogInfo`), its argument `RPC_PAYLOAD`
  (Go's `main.RPCPayload{Name, Data}`), its reply `rpc_reply(name)`. The codecs
  (`svckit.netrpc`: gob and jsonrpc) read and write an argument by this schema.
- gRPC: `proto/logs.proto` is the schema (stubs in `logs_proto`); its reply is `GRPC_RESULT`.
- RabbitMQ: the topic exchange `LOGS_EXCHANGE` and the routing keys `log.<Level>`.

It lives in the kit rather than beside `proto/logs.proto`: the kit's own codecs (`netrpc`) and
AMQP topology (`amqp`) take their schema from it, every service already depends on the kit,
and the services that send entries over HTTP only (auth, the listener) need not carry gRPC.

Lengths are counted in characters (Unicode code points), as pydantic's `max_length` and
OpenAPI's `maxLength` count them, so the schema states the limit exactly; in UTF-8 an entry
then takes at most four bytes a character.
"""

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from svckit.go_json import GoModel

# Most bytes one character takes in UTF-8, and as orjson writes it in JSON (`\u001f`).
UTF8_MAX = 4
JSON_MAX = 6


class EntryLimits(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    log_name_max: int = Field(
        default=256,
        ge=1,
        le=4096,
        description="most characters of a log entry's `name`, on every door of the logger and"
        " every log route of the broker (both read it: set both alike)",
    )
    log_data_max: int = Field(
        default=64 * 1024,
        ge=1,
        le=1024 * 1024,
        description="most characters of a log entry's `data`, likewise",
    )

    def refusal(
        self, name: str, data: str, fields: tuple[str, ...] = ("name", "data")
    ) -> str | None:
        """Why an entry is refused, naming the field (as the door's caller calls it) in
        pydantic's words; None: it is fine."""
        for field, value, limit in (
            (fields[0], name, self.log_name_max),
            (fields[1], data, self.log_data_max),
        ):
            if len(value) > limit:
                return f"{field}: String should have at most {limit} characters"
        return None

    @property
    def utf8_max(self) -> int:
        """Most bytes one entry's name and data take in UTF-8."""
        return (self.log_name_max + self.log_data_max) * UTF8_MAX

    @property
    def json_max(self) -> int:
        """Most bytes one entry's name and data take as JSON string contents."""
        return (self.log_name_max + self.log_data_max) * JSON_MAX


LIMITS = EntryLimits()

EntryName = Annotated[
    str,
    Field(
        max_length=LIMITS.log_name_max,
        description=f"at most {LIMITS.log_name_max} characters (LOG_NAME_MAX)",
    ),
]
EntryData = Annotated[
    str,
    Field(
        max_length=LIMITS.log_data_max,
        description=f"at most {LIMITS.log_data_max} characters (LOG_DATA_MAX)",
    ),
]
EventId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="Makes the write idempotent: a repeat stores nothing and still answers 202.",
    ),
]


def log_body(name: object, data: object, event_id: str | None = None) -> dict[str, object]:
    """An entry as HTTP `POST /log` and a RabbitMQ message carry it. The values go as given:
    a caller passing on what it received (the listener) leaves judging them to the logger."""
    body = {"name": name, "data": data}
    if event_id is not None:
        body["event_id"] = event_id
    return body


@dataclass(frozen=True, slots=True)
class GoArgs:
    """A Go struct of string fields, as a `net/rpc` method takes its argument: `name` is the
    type's name on a gob stream, `go_name` how Go's messages name it."""

    name: str
    go_name: str
    fields: tuple[str, ...]


# The original logger's `func (r *RPCServer) LogInfo(payload RPCPayload, resp *string) error`.
RPC_SERVICE = "RPCServer"
RPC_METHOD = "LogInfo"
LOG_INFO = f"{RPC_SERVICE}.{RPC_METHOD}"
RPC_PAYLOAD = GoArgs("RPCPayload", "main.RPCPayload", ("Name", "Data"))
RPC_REPLY_PREFIX = "Processed payload via RPC:"

# `LogResponse.result` of `logs.LogService/WriteLog`.
GRPC_RESULT = "logged!"

LOGS_EXCHANGE = "logs_topic"
Level = Literal["INFO", "WARNING", "ERROR"]


def routing_key(level: Level) -> str:
    return f"log.{level}"


LOG_ROUTING_KEYS = tuple(routing_key(level) for level in get_args(Level))


def rpc_reply(name: str) -> str:
    """`RPCServer.LogInfo`'s reply for an entry named `name`."""
    return RPC_REPLY_PREFIX + name


class Entry(GoModel):
    """One log entry, as every door of the logger takes it and every caller sends it."""

    name: EntryName
    data: EntryData

    def body(self) -> dict[str, object]:
        """As HTTP `POST /log` and RabbitMQ carry it."""
        return log_body(self.name, self.data)

    def rpc_args(self) -> dict[str, str]:
        """As `RPCServer.LogInfo` takes it (`RPC_PAYLOAD`)."""
        return dict(zip(RPC_PAYLOAD.fields, (self.name, self.data), strict=True))
