"""The `/send` request: addresses validated, header values kept to one line."""

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError
from svckit.go_json import GoModel


def _one_line(value: object) -> object:
    # A CR or LF in a header value would let the caller write headers of their own.
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        raise PydanticCustomError(
            "header_line_break", "must not contain a line break (CR or LF): it goes in a header"
        )
    return value


def _address_or_empty(value: str) -> str:
    # email-validator's rules, as pydantic's EmailStr applies them.
    return validate_email(value)[1] if value else ""


OneLine = BeforeValidator(_one_line)


class SendRequest(GoModel):
    """What the broker (or anyone) posts to `/send`; unknown fields are ignored."""

    sender: Annotated[str, OneLine, AfterValidator(_address_or_empty)] = Field(
        "",
        alias="from",
        description="the sender's address; empty: the service's FROM_ADDRESS",
        examples=["me@example.com"],
    )
    to: Annotated[EmailStr, OneLine] = Field(examples=["you@there.com"])
    subject: Annotated[str, OneLine] = Field("", examples=["Test email"])
    message: str = Field("", description="the body; shown as is in the text part")
