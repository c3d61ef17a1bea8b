"""The request bodies the broker accepts, as the original's `RequestPayload` had them.

Keys match case-insensitively, as the original's `encoding/json` matched them. `/handle` takes
one of three bodies chosen by `action`, so its OpenAPI schema says which object each action
needs; the `/log-*` routes take a body with `log` (any `action` is ignored).
"""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from svckit.contract import Entry, Level
from svckit.fields import Email, EmailOrEmpty, OneLine
from svckit.go_json import GoModel, go_fields

ACTIONS = ("auth", "log", "mail")


class AuthPayload(GoModel):
    email: Email
    password: str


class LogPayload(Entry):
    # The logger's own entry with its caps, so an entry it would refuse is refused here, before
    # any door or RabbitMQ carries it (the listener would only dead-letter it).
    level: Level | None = Field(
        default=None, description="RabbitMQ routing level; the top-level `level` wins."
    )


# The mailer's caps (docs/contracts.md): a Subject header line within RFC 5322's 998
# characters, and 64 KiB of message. Refused here, as the mailer would refuse them.
MAIL_SUBJECT_MAX = 998 - len("Subject: ")
MAIL_MESSAGE_MAX = 64 * 1024


class MailPayload(GoModel):
    from_: EmailOrEmpty = Field(
        default="", alias="from", description="empty: the mailer's FROM_ADDRESS"
    )
    to: Email
    # A header line at the mailer: refused here, as the mailer would refuse it. `OneLine`
    # writes the field's schema itself, so the length goes in again for OpenAPI.
    subject: OneLine = Field(
        max_length=MAIL_SUBJECT_MAX, json_schema_extra={"maxLength": MAIL_SUBJECT_MAX}
    )
    message: str = Field(max_length=MAIL_MESSAGE_MAX)


class AuthAction(GoModel):
    action: Literal["auth"]
    auth: AuthPayload


class LogAction(GoModel):
    action: Literal["log"]
    log: LogPayload


class MailAction(GoModel):
    action: Literal["mail"]
    mail: MailPayload


def _action_of(body: Any) -> str | None:
    """The `action` a body names (its key in any case, as Go matched it); None: unknown."""
    if isinstance(body, BaseModel):
        action = getattr(body, "action", None)
    elif isinstance(body, dict):
        action = go_fields(body, ["action"]).get("action")
    else:
        return None
    return action if action in ACTIONS else None


Action = Annotated[
    Annotated[AuthAction, Tag("auth")]
    | Annotated[LogAction, Tag("log")]
    | Annotated[MailAction, Tag("mail")],
    Discriminator(
        _action_of, custom_error_type="unknown_action", custom_error_message="unknown action"
    ),
]


def _untagged(error: Any) -> InitErrorDetails:
    """A member's error located in the body: pydantic puts the union's tag first (`log.log`)."""
    loc = tuple(error["loc"])
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], error["msg"]),
        loc=loc[1:] if loc and loc[0] in ACTIONS else loc,
        input=error["input"],
    )


class HandleRequest(RootModel[Action]):
    """`/handle`: `auth`, `log` or `mail`, each with its object; any other action is refused."""

    @model_validator(mode="wrap")
    @classmethod
    def _errors_where_the_caller_put_them(
        cls, data: Any, handler: ValidatorFunctionWrapHandler
    ) -> Any:
        if not isinstance(data, dict | BaseModel):
            raise PydanticCustomError("dict_type", "Input should be an object")
        try:
            return handler(data)
        except ValidationError as exc:
            errors = [_untagged(error) for error in exc.errors()]
            raise ValidationError.from_exception_data(exc.title, errors) from None


class LogRequest(GoModel):
    """The `/log-*` routes: the body `/handle` takes for `log`, its `action` ignored."""

    action: str = Field(default="", description="ignored")
    log: LogPayload
    level: Level | None = Field(
        default=None, description="`/log-rabbit` routing key `log.<level>` (default INFO)."
    )

    def level_or_default(self) -> Level:
        if self.level is not None:
            return self.level
        if self.log.level is not None:
            return self.log.level
        return "INFO"
