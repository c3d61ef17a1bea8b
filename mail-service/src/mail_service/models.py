"""The `/send` request: addresses validated, header values kept to one line, every field but
`from` required (an empty `from` means the service's FROM_ADDRESS), and every text bounded.

The two caps are part of the contract (the broker refuses the same at `/handle`), so they are
constants the OpenAPI schema states, not settings that could make it lie.
"""

from pydantic import Field
from svckit.fields import Email, EmailOrEmpty, OneLine
from svckit.go_json import GoModel

# RFC 5322 (2.1.1): a header line is at most 998 characters. `Subject: ` and a subject this
# long fill one exactly; a longer ASCII word could not be folded under it, while a folded or
# RFC 2047-encoded subject only gets shorter lines.
SUBJECT_MAX = 998 - len("Subject: ")
# 64 KiB of text: a long letter many times over. Quoted-printable in two parts makes the worst
# case (4-byte characters) a 1.6 MB mail, under common SMTP size limits (Postfix: 10 MB), that
# composes in under 0.1 s (off the event loop).
MESSAGE_MAX = 64 * 1024


class SendRequest(GoModel):
    """What the broker (or anyone) posts to `/send`; unknown fields are ignored."""

    sender: EmailOrEmpty = Field(
        "",
        alias="from",
        description="the sender's address; empty or absent: the service's FROM_ADDRESS",
        examples=["me@example.com"],
    )
    to: Email = Field(examples=["you@there.com"])
    # `OneLine` writes the field's schema itself, so the length goes in again for OpenAPI.
    subject: OneLine = Field(
        max_length=SUBJECT_MAX,
        json_schema_extra={"maxLength": SUBJECT_MAX},
        examples=["Test email"],
    )
    message: str = Field(
        max_length=MESSAGE_MAX, description="the body; shown as is in the text part"
    )
