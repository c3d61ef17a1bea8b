"""The request bodies the broker accepts, as the original's `RequestPayload` had them.

Keys match case-insensitively, as the original's `encoding/json` matched them.
"""

from typing import Literal

from pydantic import Field
from svckit.go_json import GoModel

Level = Literal["INFO", "WARNING", "ERROR"]


class AuthPayload(GoModel):
    email: str
    password: str


class LogPayload(GoModel):
    name: str
    data: str
    level: Level | None = Field(
        default=None, description="RabbitMQ routing level; the top-level `level` wins."
    )


class MailPayload(GoModel):
    from_: str = Field(default="", alias="from", description="empty: the mailer's FROM_ADDRESS")
    to: str
    subject: str
    message: str


class RequestPayload(GoModel):
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
