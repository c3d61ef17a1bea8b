"""Fuzzing every HTTP request model: whatever bytes a client sends as a body, parsing and
validating them (as FastAPI does: `json.loads`, then the model) ends in the model or in a
400 message naming fields, within a time budget, and never in another exception.

A body is at most 1 MiB at every door (the edge refuses more with 413), so that is the
largest input here; the slow cases found by hand (a 1 MiB email, a 1 MiB subject) are among
the strategies.
"""

import json
import time
from typing import Any

import pytest
from authentication_service.http_api import Credentials
from broker_service.models import HandleRequest, LogRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logger_service.http_api import LogIn
from mail_service.models import SendRequest
from pydantic import BaseModel, ValidationError
from svckit.errors import describe_validation_errors

# How long one body may hold a service's event loop, on a busy 2-core machine.
BUDGET = 0.5
BODY_MAX = 1024 * 1024
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

MODELS: list[type[BaseModel]] = [HandleRequest, LogRequest, SendRequest, Credentials, LogIn]
KEYS = ["action", "auth", "log", "mail", "email", "password", "name", "data", "from", "to"]
KEYS += ["subject", "message", "event_id", "Email", "NAME"]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=25,
)
# Strings of about a megabyte that cost an email validator the most (0.5-1.7 s each before
# the length was checked first), and a long subject.
N = BODY_MAX - 300
COSTLY = [
    "a" * N + "@example.com",
    "a " * (N // 2) + "@x.com",
    ("a" * 60 + ".") * (N // 61) + "@x.com",
    '"' + "a" * N + '"@x.com',
    "é" * (N // 2),
]
huge = st.sampled_from(COSTLY)


def body(value: Any) -> bytes:
    return json.dumps(value).encode()[:BODY_MAX]


def nested(depth: int) -> bytes:
    return (b'{"action":"log","log":' + b"[" * depth + b"]" * depth + b"}")[:BODY_MAX]


bodies = st.one_of(
    st.binary(max_size=512),
    values.map(body),
    st.builds(
        lambda action, inner: body({"action": action, action: inner}),
        st.sampled_from(["auth", "log", "mail", "other"]),
        values,
    ),
    st.builds(
        lambda key, action, text: body({"action": action, action: {key: text}, key: text}),
        st.sampled_from(KEYS),
        st.sampled_from(["auth", "log", "mail"]),
        huge,
    ),
    st.integers(min_value=1, max_value=BODY_MAX // 2).map(nested),
)


def costly_bodies() -> list[bytes]:
    """Each costly string in each field a model validates it in, found by hand."""
    out = []
    for text in COSTLY:
        out += [
            body({"action": "auth", "auth": {"email": text, "password": "p"}}),
            body({"email": text, "password": "p"}),
            body({"action": "mail", "mail": {"to": text, "subject": "s", "message": "m"}}),
            body({"from": text, "to": "you@example.com", "subject": "s", "message": "m"}),
            body({"action": "mail", "mail": {"to": "a@b.test", "subject": text, "message": "m"}}),
        ]
    return out


def parse(model: type[BaseModel], raw: bytes) -> str:
    """`ok`, or the 400 message the edge would answer."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "malformed JSON"  # FastAPI answers 400 before any model sees it
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return describe_validation_errors(exc.errors())
    return "ok"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("raw", costly_bodies(), ids=lambda raw: f"{raw[:24]!r}")
def test_the_costly_bodies_found_by_hand_are_answered_within_the_budget(
    model: type[BaseModel], raw: bytes
) -> None:
    started = time.monotonic()
    outcome = parse(model, raw)
    assert time.monotonic() - started < BUDGET, f"{model.__name__}: {outcome[:200]}"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@FUZZ
@given(raw=bodies)
def test_any_body_is_a_model_or_a_400_within_the_budget(model: type[BaseModel], raw: bytes) -> None:
    started = time.monotonic()
    outcome = parse(model, raw)
    assert time.monotonic() - started < BUDGET, f"{model.__name__}: {len(raw)} bytes"
    # The message names fields; it never echoes a client's megabyte back.
    assert outcome
    assert len(outcome) < 4096
