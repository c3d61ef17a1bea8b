"""Fuzzing the AMQP message handler's pure part: whatever a publisher puts in a message, the
listener decides its fate (an entry to forward, or `Poison` with a reason) within a time
budget, and the dead-letter copy it would publish always has headers and a routing key
AMQP can carry.

The messages are aio-pika's own `IncomingMessage`s, built from the pamqp frames a delivery
arrives as; the delivery path through RabbitMQ is `test_listener_delivery.py`'s.
"""

import json
import time
from typing import Any

import aio_pika
import orjson
from aiormq.abc import DeliveredMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from listener_service.consumer import encoded, log_entry
from listener_service.fate import (
    FAILURES_HEADER,
    ORIGINAL_ROUTING_KEY,
    REASON_MAX,
    SHORTSTR_MAX,
    DeadLetter,
    Poison,
    dead_letter_headers,
    origin,
    shortstr,
)
from pamqp import commands as spec
from pamqp import encode
from pamqp.header import ContentHeader
from svckit.amqp import REASON_HEADER

# How long one message may hold the listener's event loop, on a busy 2-core machine.
BUDGET = 0.5
MAX_SIZE = 1024 * 1024
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def delivered(body: bytes, headers: dict[str, Any], message_id: str | None) -> Any:
    properties = spec.Basic.Properties(headers=headers, message_id=message_id)
    deliver = spec.Basic.Deliver(
        consumer_tag="fuzz", delivery_tag=1, redelivered=False, exchange="logs_topic",
        routing_key="log.INFO",
    )  # fmt: skip
    frame = DeliveredMessage(
        delivery=deliver,
        header=ContentHeader(0, len(body), properties),
        body=body,
        channel=None,  # type: ignore[arg-type]  # never settled here
    )
    return aio_pika.IncomingMessage(frame)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)


def deep(depth: int, opener: bytes) -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    inner = b'"x"' if opener == b"[" else b'{"a":'
    if opener == b"{":
        return b'{"data":' + inner * depth + b"1" + closer * depth + b"}"
    return b'{"data":' + opener * depth + inner + closer * depth + b"}"


bodies = st.one_of(
    st.binary(max_size=2048),
    # The standard library's encoder: it writes what orjson would refuse (big integers, NaN).
    json_values.map(lambda value: json.dumps(value).encode()),
    st.builds(
        lambda name, data: json.dumps({"name": name, "data": data}).encode(),
        json_values,
        json_values,
    ),
    st.builds(deep, st.integers(min_value=1, max_value=200_000), st.sampled_from([b"[", b"{"])),
    st.integers(min_value=MAX_SIZE - 8, max_value=MAX_SIZE + 8).map(
        lambda n: b'{"name":"big","data":"' + b"x" * (n - 24) + b'"}'
    ),
)
header_values = st.one_of(
    st.text(max_size=600), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans()
)
headers = st.dictionaries(
    st.sampled_from(
        ["x-original-exchange", ORIGINAL_ROUTING_KEY, FAILURES_HEADER, "traceparent", "other"]
    ),
    header_values,
    max_size=5,
)


@FUZZ
@given(body=bodies, headers=headers, message_id=st.none() | st.text(min_size=1, max_size=100))
def test_every_message_is_an_entry_or_poison_within_the_budget(
    body: bytes, headers: dict[str, Any], message_id: str | None
) -> None:
    message = delivered(body, headers, message_id)
    started = time.monotonic()
    fate: Poison | bytes
    try:
        fate = encoded(log_entry(message, MAX_SIZE))
    except Poison as poison:
        fate = poison
    if isinstance(fate, Poison):
        assert str(fate)
        assert fate.kind in {"too_large", "not_json"}
    else:
        assert set(orjson.loads(fate)) <= {"name", "data", "event_id"}
    assert time.monotonic() - started < BUDGET


@FUZZ
@given(
    headers=headers,
    reason=st.text(max_size=3000),
    failures=st.integers(min_value=0, max_value=2**31),
)
def test_the_dead_letter_copy_s_own_headers_and_key_always_encode(
    headers: dict[str, Any], reason: str, failures: int
) -> None:
    """Whatever headers a message came with, the copy with ours alone can be published: the
    fallback `_dead_letter` takes when the original's headers cannot be."""
    message = delivered(b"{}", headers, None)
    first = origin(message.headers, message.exchange, message.routing_key)
    ours = dead_letter_headers(first, DeadLetter(reason, "error", failures))
    assert len(ours[REASON_HEADER]) <= REASON_MAX
    assert encode.field_table(ours)
    key = shortstr(first[ORIGINAL_ROUTING_KEY])
    assert len(key.encode()) <= SHORTSTR_MAX
    assert encode.short_string(key)
