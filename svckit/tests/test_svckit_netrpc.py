"""Go's net/rpc codecs, client to server and back: property tests of round trips and junk."""

import contextlib
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from svckit import gob
from svckit.contract import LOG_INFO, RPC_PAYLOAD
from svckit.netrpc import (
    Call,
    CallError,
    Codec,
    StreamError,
    client_codec,
    gob_type,
    server_codec,
)

CODECS: tuple[Codec, ...] = ("jsonrpc", "gob")
# Text of every kind, empty included, and now and then a large one: up to 3 characters of up
# to 4 bytes 40,000 times, so that a name and a data together fit in one 1 MiB gob message.
TEXT = st.one_of(
    st.text(),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(1000, 40_000)),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` split at the given offsets (in any order, repeated or out of range)."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@pytest.mark.parametrize("codec", CODECS)
@FAST
@given(calls=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=4), cuts=st.lists(st.integers()))
def test_calls_and_replies_round_trip_in_any_chunks(
    codec: Codec, calls: list[tuple[str, str]], cuts: list[int]
) -> None:
    client = client_codec(codec)
    wire = b"".join(
        client.request(seq, LOG_INFO, RPC_PAYLOAD, {"Name": name, "Data": data})
        for seq, (name, data) in enumerate(calls)
    )
    server = server_codec(wire[0])
    assert server.name == codec
    received: list[Call] = [call for part in chunks(wire, cuts) for call in server.feed(part)]
    assert not server.pending
    assert [(c.method, c.seq) for c in received] == [(LOG_INFO, i) for i in range(len(calls))]
    assert [tuple(server.args(c, RPC_PAYLOAD).values()) for c in received] == calls

    answers = b"".join(
        server.reply(c, None, "refused") if i % 2 else server.reply(c, "reply:" + name, None)
        for i, (c, (name, _)) in enumerate(zip(received, calls, strict=True))
    )
    replies = [r for part in chunks(answers, cuts) for r in client.feed(part)]
    expected: list[tuple[Any, Any, str | None]] = [
        (i, None, "refused") if i % 2 else (i, "reply:" + name, None)
        for i, (name, _) in enumerate(calls)
    ]
    assert [(r.seq, r.result, r.error) for r in replies] == expected


@FAST
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(), max_size=8))
def test_arbitrary_bytes_raise_nothing_but_stream_error(data: bytes, cuts: list[int]) -> None:
    if not data:
        return
    server = server_codec(data[0])
    try:
        for part in chunks(data, cuts):
            for call in server.feed(part):
                with contextlib.suppress(CallError):
                    server.args(call, RPC_PAYLOAD)
                server.reply(call, "ok", None)
    except StreamError:
        pass


def valid_gob_stream() -> bytes:
    client = client_codec("gob")
    return b"".join(
        client.request(i, LOG_INFO, RPC_PAYLOAD, {"Name": f"n{i}", "Data": "é" * i})
        for i in range(3)
    )


@FAST
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("rid")), max_size=6
    )
)
def test_mutated_gob_streams_raise_nothing_but_stream_error(
    edits: list[tuple[int, int, str]],
) -> None:
    data = bytearray(valid_gob_stream())
    for where, byte, how in edits:
        i = where % (len(data) + 1)
        if how == "r" and i < len(data):
            data[i] = byte
        elif how == "i":
            data.insert(i, byte)
        elif i < len(data):
            del data[i]
    decoder = gob.StreamDecoder()
    try:
        for item in decoder.feed(bytes(data)):
            with contextlib.suppress(gob.GobError):
                decoder.read_struct(item, gob_type(RPC_PAYLOAD))
    except gob.FrameError:
        pass


@pytest.mark.parametrize("codec", ["jsonrpc", "gob"])
def test_a_calls_trace_context_travels_to_the_server_and_a_go_call_has_none(codec: Codec) -> None:
    context = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    client = client_codec(codec)
    traced = client.request(0, LOG_INFO, RPC_PAYLOAD, {"Name": "n", "Data": "d"}, context)
    bare = client.request(1, LOG_INFO, RPC_PAYLOAD, {"Name": "m", "Data": "d"})
    stream = traced + bare
    server = server_codec(stream[0])
    first, second = list(server.feed(stream))
    assert first.context == context
    assert second.context == {}
    assert server.args(first, RPC_PAYLOAD) == {"Name": "n", "Data": "d"}
