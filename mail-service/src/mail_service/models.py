"""The `/send` request: addresses validated, header values kept to one line, every field but
`from` required (an empty `from` means the service's FROM_ADDRESS)."""

from pydantic import Field
from svckit.fields import Email, EmailOrEmpty, OneLine
from svckit.go_json import GoModel


class SendRequest(GoModel):
    """What the broker (or anyone) posts to `/send`; unknown fields are ignored."""

    sender: EmailOrEmpty = Field(
        "",
        alias="from",
        description="the sender's address; empty or absent: the service's FROM_ADDRESS",
        examples=["me@example.com"],
    )
    to: Email = Field(examples=["you@there.com"])
    subject: OneLine = Field(examples=["Test email"])
    message: str = Field(description="the body; shown as is in the text part")
