"""The request bodies the broker accepts, as the original's `RequestPayload` had them."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["INFO", "WARNING", "ERROR"]


class AuthPayload(BaseModel):
    email: str
    password: str


class LogPayload(BaseModel):
    name: str
    data: str
    level: Level | None = Field(
        default=None, description="RabbitMQ routing level; the top-level `level` wins."
    )


class MailPayload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(default="", alias="from", description="empty: the mailer's FROM_ADDRESS")
    to: str
    subject: str
    message: str


class RequestPayload(BaseModel):
    """`/handle` dispatches on `action`; the `/log-*` routes ignore it and use `log`."""

    action: str = ""
    auth: AuthPayload | None = None
    log: LogPayload | None = None
    mail: MailPayload | None = None
    level: Level | None = Field(
        default=None, description="`/log-rabbit` routing key `log.<level>` (default INFO)."
    )

    def level_or_default(self) -> Level:
        if self.level is not None:
            return self.level
        if self.log is not None and self.log.level is not None:
            return self.log.level
        return "INFO"


class Envelope(BaseModel):
    """Every answer of the broker (documentation only: handlers build it with `svckit.reply`)."""

    error: bool
    message: str
    data: Any = None
