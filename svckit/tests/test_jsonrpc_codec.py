"""The codec reads a byte stream the way Go's json.Decoder does, and any bytes quickly."""

import json
import time
from typing import Any

import pytest
from devkit.fuzz import BUDGET, FUZZ, chunks, mutated
from hypothesis import given
from hypothesis import strategies as st
from svckit import jsonrpc
from svckit.jsonrpc import FrameError, StreamDecoder, request, response

CALL = request("RPCServer.LogInfo", {"Name": 'we}ird"{', "Data": "ü"}, 7)


def test_request_is_go_client_shape() -> None:
    assert CALL == (
        b'{"method":"RPCServer.LogInfo","params":[{"Name":"we}ird\\"{","Data":"\xc3\xbc"}],"id":7}\n'
    )


def test_reply_has_both_keys_one_null() -> None:
    assert response(0, "ok") == b'{"id":0,"result":"ok","error":null}\n'
    assert response(1, None, "bad") == b'{"id":1,"result":null,"error":"bad"}\n'


def test_frames_split_byte_by_byte_are_reassembled() -> None:
    decoder = StreamDecoder()
    frames: list[dict[str, Any]] = []
    stream = CALL + b"  \r\n" + CALL.strip()
    for i in range(len(stream)):
        frames += decoder.feed(stream[i : i + 1])
    assert len(frames) == 2
    assert frames[0]["params"][0]["Name"] == 'we}ird"{'
    assert frames[0]["params"][0]["Data"] == "ü"


def test_many_frames_in_one_read() -> None:
    assert [f["id"] for f in StreamDecoder().feed(CALL * 3)] == [7, 7, 7]


@pytest.mark.parametrize("garbage", [b"hello", b"[1]", b"{not json}", b"\xff{"])
def test_garbage_raises(garbage: bytes) -> None:
    with pytest.raises(FrameError):
        list(StreamDecoder().feed(garbage))


def test_oversized_frame_raises() -> None:
    decoder = StreamDecoder(max_frame=100)
    with pytest.raises(FrameError):
        list(decoder.feed(b'{"a":"' + b"x" * 200))


# Fuzzing: any bytes, in any chunks, come out as objects or FrameError, never another
# exception, within BUDGET seconds (how long one connection may hold the loop).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@st.composite
def json_streams(draw: st.DrawFn) -> bytes:
    """Objects (now and then nested deep) and whitespace, then perhaps some junk."""
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        value: Any = draw(JSON_VALUES)
        depth = draw(st.sampled_from([0, 1, 100, jsonrpc.MAX_NESTING - 2, 1_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}")]))
        params = opener * depth + json.dumps(value) + closer * depth
        parts.append(f'{{"method": "m", "params": [{params}], "id": 1}}')
        parts.append(draw(st.sampled_from(["", " ", "\n", "\r\n\t"])))
    data = "".join(parts).encode()
    if draw(st.booleans()):
        data += draw(st.binary(max_size=64))
    return data


JSON_INPUTS = st.one_of(
    json_streams(),
    json_streams().flatmap(mutated),
    st.binary(max_size=4_096),
    st.builds(
        lambda s, n: (s * n).encode(),
        st.text(alphabet='{}[]"\\ a:,1', min_size=1, max_size=8),
        st.integers(1, 5_000),
    ),
)


@FUZZ
@given(data=JSON_INPUTS, cuts=st.lists(st.integers(), max_size=64))
def test_jsonrpc_decodes_any_bytes_in_any_chunks_quickly_raising_only_its_own_errors(
    data: bytes, cuts: list[int]
) -> None:
    started = time.monotonic()
    decoder = jsonrpc.StreamDecoder()
    frames: list[dict[str, Any]] = []
    try:
        for chunk in chunks(data, cuts):
            frames += decoder.feed(chunk)
    except jsonrpc.FrameError:
        pass
    assert time.monotonic() - started < BUDGET
    assert all(isinstance(frame, dict) for frame in frames)


@FUZZ
@given(data=json_streams(), cuts=st.lists(st.integers(), max_size=64))
def test_jsonrpc_frames_are_the_same_in_any_chunks(data: bytes, cuts: list[int]) -> None:
    def frames(parts: list[bytes]) -> tuple[list[dict[str, Any]], bool]:
        decoder, out = jsonrpc.StreamDecoder(), list[dict[str, Any]]()
        try:
            for part in parts:
                out += decoder.feed(part)
        except jsonrpc.FrameError:
            return out, False
        return out, True

    assert frames(chunks(data, cuts)) == frames([data])


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_deeper_than_the_bound_closes_the_stream(opener: str) -> None:
    depth = jsonrpc.MAX_NESTING
    fine = '{"params":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    assert next(jsonrpc.StreamDecoder().feed(fine.encode()))["params"] is not None
    deep = '{"params":' + opener * 100_000
    with pytest.raises(jsonrpc.FrameError, match="nested deeper than"):
        list(jsonrpc.StreamDecoder().feed(deep.encode()))


def test_a_frame_dripped_a_byte_at_a_time_is_read_in_linear_time() -> None:
    frame = jsonrpc.request("m", {"Name": "x" * 500_000}, 1)
    decoder = jsonrpc.StreamDecoder()
    started = time.monotonic()
    out = [f for i in range(0, len(frame), 16) for f in decoder.feed(frame[i : i + 16])]
    assert time.monotonic() - started < 5
    assert out[0]["params"][0]["Name"] == "x" * 500_000
