"""Field types every request model shares: each validates as its OpenAPI schema says."""

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

# RFC 5321's limit on a whole address (the `users.email` column allows 255).
EMAIL_MAX = 254


def _not_too_long(value: object) -> object:
    # First and cheap: email-validator's cost grows with the input, and it runs on the loop.
    if isinstance(value, str) and len(value) > EMAIL_MAX:
        raise PydanticCustomError(
            "too_long", "not an email address: longer than {max} characters", {"max": EMAIL_MAX}
        )
    return value


def _an_address(value: str) -> str:
    # email-validator's syntax rules, as RFC 5321 (OpenAPI's `email`) has them: no DNS lookup,
    # no demand that the domain be deliverable on the internet (`you@mailhog`, `a@b.test`).
    # Its list of special-use names still applies, `.test` aside: `localhost`, `.local`,
    # `.invalid`, `.onion`, `.arpa`.
    try:
        validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "email", "not an email address: {reason}", {"reason": str(exc)}
        ) from None
    return value


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PydanticCustomError(
            "line_break", "must not contain a line break (CR or LF): it goes in a header"
        )
    return value


Email = Annotated[
    str,
    BeforeValidator(_not_too_long),
    AfterValidator(_one_line),
    AfterValidator(_an_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": EMAIL_MAX}),
]
"""An email address as given (not normalized)."""

EmailOrEmpty = Annotated[
    str,
    BeforeValidator(_not_too_long),
    AfterValidator(_one_line),
    AfterValidator(lambda value: _an_address(value) if value else value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email", "maxLength": EMAIL_MAX},
                {"type": "string", "maxLength": 0},
            ]
        }
    ),
]
"""An email address, or nothing (`""`): a sender left for the service to choose."""

OneLine = Annotated[
    str, AfterValidator(_one_line), WithJsonSchema({"type": "string", "pattern": r"^[^\r\n]*$"})
]
"""Text that goes in a mail header: a CR or LF would let the sender write headers of its own."""
