"""Email fields: the cheap length check comes before email-validator, whose cost grows with
the input and which runs on the event loop."""

import time

import pytest
from pydantic import BaseModel, ValidationError
from svckit.errors import describe_validation_errors
from svckit.fields import EMAIL_MAX, Email, EmailOrEmpty


class Message(BaseModel):
    to: Email
    sender: EmailOrEmpty = ""


@pytest.mark.parametrize("field", ["to", "sender"])
def test_a_1_mib_email_is_refused_at_once_naming_the_field(field: str) -> None:
    body = {"to": "you@example.com", field: "a" * (1 << 20) + "@example.com"}
    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        Message.model_validate(body)
    took = time.perf_counter() - started
    message = describe_validation_errors(caught.value.errors())
    assert message.startswith(f"{field}: not an email address: longer than {EMAIL_MAX}"), message
    # email-validator took most of a second on this input; the length check takes microseconds.
    assert took < 0.2


def test_an_address_of_the_longest_length_goes_through_and_one_more_character_does_not() -> None:
    longest = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    assert len(longest) == EMAIL_MAX
    assert Message(to=longest).to == longest
    with pytest.raises(ValidationError) as caught:
        Message(to="a" + longest)
    assert caught.value.errors()[0]["type"] == "too_long"


def test_the_other_rules_still_apply_under_the_limit() -> None:
    with pytest.raises(ValidationError) as caught:
        Message(to="not-an-address")
    assert caught.value.errors()[0]["type"] == "email"
    with pytest.raises(ValidationError) as caught:
        Message(to="a@b.com\r\nBcc: x@y.z")
    assert caught.value.errors()[0]["type"] == "line_break"
