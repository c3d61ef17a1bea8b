"""The gob codec against bytes Go 1.19's encoding/gob wrote, and its limits on bad input.

The expected bytes were captured from a Go program encoding the same values with
`gob.NewEncoder` (Debian's golang-go, standard library only); the live peers are in
logger-service/tests/test_logger_go_peer.py and broker-service/tests/test_broker_go_logger.py.
"""

import contextlib
import time
from collections.abc import Callable

import pytest
from devkit.fuzz import BUDGET, FUZZ, chunks, mutated
from hypothesis import given
from hypothesis import strategies as st
from svckit import contract, gob
from svckit.netrpc import INVALID_REQUEST, REQUEST, RESPONSE, gob_type

RPC_PAYLOAD = gob_type(contract.RPC_PAYLOAD)

# Go: enc.Encode(rpc.Request{"RPCServer.LogInfo", 0}), then with Seq 1 (the type is known).
GO_REQUEST_0 = bytes.fromhex(
    "2fff81030101075265717565737401ff82000102010d536572766963654d6574686f64010c0001035365"
    "71010600000016ff8201115250435365727665722e4c6f67496e666f00"
)
GO_REQUEST_1 = bytes.fromhex("18ff8201115250435365727665722e4c6f67496e666f010100")
# Go: enc.Encode(RPCPayload{"event", "x"}), type id 66 in that program.
GO_PAYLOAD = bytes.fromhex(
    "2aff830301010a5250435061796c6f616401ff8400010201044e616d65010c00010444617461010c0000"
    "000dff8401056576656e7401017800"
)
# Go: enc.Encode(rpc.Response{"RPCServer.LogInfo", 300, "boom"}).
GO_RESPONSE = bytes.fromhex(
    "3aff8503010108526573706f6e736501ff86000103010d536572766963654d6574686f64010c00010353"
    "657101060001054572726f72010c00000020ff8601115250435365727665722e4c6f67496e666f01fe01"
    "2c0104626f6f6d00"
)
# Go: enc.Encode("Processed payload via RPC:event"), enc.Encode(""), enc.Encode(struct{}{}).
GO_STRING = bytes.fromhex("220c001f50726f636573736564207061796c6f616420766961205250433a6576656e74")
GO_EMPTY_STRING = bytes.fromhex("030c0000")
GO_EMPTY_STRUCT = bytes.fromhex("0aff87030102ff8800000003ff8800")
# Go: a struct with Name and Data among a map, a slice, an interface holding a registered
# Label (whose type gob defines in mid-value), a nested struct, an array, []byte, float64,
# complex128, bool, uint64, time.Time (a GobEncoder) and a *Point.
GO_REORDERED = bytes.fromhex(
    "ff98ff810301010952656f72646572656401ff8200010e0105457874726101ff8600010444617461010c0001"
    "045461677301ff88000103416e7901100001064e657374656401ff8a00010341727201ff8c000104426c6f62"
    "010a000105526174696f010800010143010e000104466c6167010200010342696701060001045768656e01ff"
    "8e00010350747201ff900001044e616d65010c00000021ff85040101106d61705b737472696e675d5b5d696e"
    "7401ff8600010c01ff8400000cff83020102ff84000104000016ff87020101085b5d737472696e6701ff8800"
    "010c000034ff890301011a737472756374207b204120696e743b204220737472696e67207d01ff8a00010201"
    "0141010400010142010c00000016ff8b010101065b335d696e7401ff8c0001040106000010ff8d0501010454"
    "696d6501ff8e0000001fff8f03010105506f696e7401ff90000102010158010400010159010400000046ff82"
    "01020162000161020204010972656f72646572656401030178000179010a6d61696e2e4c6162656cff910301"
    "01054c6162656c01ff92000101010454657874010c00000056ff92090106696e736964650001010d01066e65"
    "73746564000103020006010300010201fd80314001fef03fffc0010101f88000000000000005010f01000000"
    "0eddca78d900000000ffff01010601080001036e2d3000"
)


def with_id(local: gob.GoStruct, type_id: int) -> gob.GoStruct:
    """Our type under the id the Go program happened to give it."""
    return gob.GoStruct(type_id, local.name, local.fields, local.go_name)


def decode(data: bytes, chunk: int | None = None) -> tuple[gob.StreamDecoder, list[gob.Item]]:
    decoder = gob.StreamDecoder()
    step = chunk or len(data)
    items = [item for i in range(0, len(data), step) for item in decoder.feed(data[i : i + step])]
    return decoder, items


# Go's own `rpc.Request`; ours carries the trace context in two more fields Go skips.
GO_RPC_REQUEST = gob.GoStruct(
    65, "Request", (("ServiceMethod", gob.STRING), ("Seq", gob.UINT)), "rpc.Request"
)


def test_our_encoder_writes_the_bytes_go_writes() -> None:
    enc = gob.Encoder()
    request, payload = GO_RPC_REQUEST, with_id(RPC_PAYLOAD, 66)
    method = "RPCServer.LogInfo"
    assert enc.encode_struct(request, {"ServiceMethod": method, "Seq": 0}) == GO_REQUEST_0
    assert enc.encode_struct(payload, {"Name": "event", "Data": "x"}) == GO_PAYLOAD
    assert enc.encode_struct(request, {"ServiceMethod": method, "Seq": 1}) == GO_REQUEST_1
    response = with_id(RESPONSE, 67)
    assert enc.encode_struct(response, {"ServiceMethod": method, "Seq": 300, "Error": "boom"}) == (
        GO_RESPONSE
    )
    assert enc.encode_string("Processed payload via RPC:event") == GO_STRING
    assert enc.encode_string("") == GO_EMPTY_STRING
    assert enc.encode_struct(with_id(INVALID_REQUEST, 68), {}) == GO_EMPTY_STRUCT


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_go_s_bytes_decode_into_our_types_in_any_chunks(chunk: int | None) -> None:
    stream = GO_REQUEST_0 + GO_PAYLOAD + GO_REQUEST_1 + GO_RESPONSE + GO_STRING + GO_EMPTY_STRING
    decoder, items = decode(stream + GO_EMPTY_STRUCT, chunk)
    assert len(items) == 7
    # A Go client sends no trace context: those fields read as empty.
    assert decoder.read_struct(items[0], REQUEST) == {
        "ServiceMethod": "RPCServer.LogInfo",
        "Seq": 0,
        "Traceparent": "",
        "Tracestate": "",
    }
    assert decoder.read_struct(items[1], RPC_PAYLOAD) == {"Name": "event", "Data": "x"}
    assert decoder.read_struct(items[2], REQUEST)["Seq"] == 1
    assert decoder.read_struct(items[3], RESPONSE) == {
        "ServiceMethod": "RPCServer.LogInfo",
        "Seq": 300,
        "Error": "boom",
    }
    assert decoder.read_string(items[4]) == "Processed payload via RPC:event"
    assert decoder.read_string(items[5]) == ""
    assert decoder.read_struct(items[6], INVALID_REQUEST) == {}
    assert not decoder.pending


@pytest.mark.parametrize("chunk", [None, 1])
def test_fields_we_lack_are_skipped_whatever_their_kind_and_order(chunk: int | None) -> None:
    decoder, items = decode(GO_REORDERED, chunk)
    assert len(items) == 1
    assert items[0].error is None
    assert decoder.read_struct(items[0], RPC_PAYLOAD) == {"Name": "n-0", "Data": "reordered"}
    value = items[0].value
    assert value["Nested"] == {"A": -7, "B": "nested"}
    assert value["Extra"] == [("b", []), ("a", [1, 2])]
    assert (value["Arr"], value["Blob"], value["Ratio"]) == ([1, 0, 3], b"\x00\x01\x02", 17.5)
    assert (value["C"], value["Flag"], value["Big"]) == (1 - 2j, True, (1 << 63) + 5)
    assert value["Ptr"] == {"X": 3, "Y": 4}


def test_an_unfinished_value_waits_and_is_pending() -> None:
    decoder = gob.StreamDecoder()
    assert list(decoder.feed(GO_REQUEST_0[:-3])) == []
    assert decoder.pending
    (item,) = decoder.feed(GO_REQUEST_0[-3:])
    assert decoder.read_struct(item, REQUEST)["ServiceMethod"] == "RPCServer.LogInfo"


NAME_AS_INT = gob.GoStruct(70, "NameAsInt", (("Name", gob.INT),), "main.NameAsInt")
UNRELATED = gob.GoStruct(71, "Unrelated", (("Other", gob.STRING),), "main.Unrelated")


@pytest.mark.parametrize(
    ("encode", "error"),
    [
        (
            lambda e: e.encode_struct(NAME_AS_INT, {"Name": 5}),
            "gob: wrong type (string) for received field NameAsInt.Name",
        ),
        (
            lambda e: e.encode_struct(UNRELATED, {"Other": "x"}),
            "gob: type mismatch: no fields matched compiling decoder for RPCPayload",
        ),
        (
            lambda e: e.encode_string("text"),
            "gob: type mismatch in decoder: want struct type main.RPCPayload; got non-struct",
        ),
    ],
)
def test_a_value_go_would_not_take_fails_with_go_s_text_and_the_stream_goes_on(
    encode: Callable[[gob.Encoder], bytes], error: str
) -> None:
    enc = gob.Encoder()
    after = enc.encode_struct(RPC_PAYLOAD, {"Name": "next"})
    decoder, (bad, good) = decode(encode(enc) + after)
    with pytest.raises(gob.GobError) as refused:
        decoder.read_struct(bad, RPC_PAYLOAD)
    assert str(refused.value) == error
    assert decoder.read_struct(good, RPC_PAYLOAD) == {"Name": "next", "Data": ""}


def test_a_struct_is_not_a_string() -> None:
    decoder, (item,) = decode(GO_PAYLOAD)
    with pytest.raises(gob.GobError, match="local type \\*string, received remote type RPCPayload"):
        decoder.read_string(item)


def test_a_type_defined_twice_fails_that_value_only() -> None:
    _, items = decode(GO_PAYLOAD * 2)
    assert [i.error for i in items] == [None, "gob: duplicate type received", None]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x80", "out of range"),  # a length byte announcing 128 length bytes
        (b"\xfd\x10\x00\x01", "larger than"),  # a message of 1 MiB + 1
        (b"this is not json\n", "unknown type id"),  # 't' bytes long, of type 52: junk at once
        (b"\x7f\x01", "duplicate type"),  # defining a type id Go reserves
    ],
)
def test_bytes_that_cannot_be_framed_raise_frame_error_at_once(data: bytes, error: str) -> None:
    with pytest.raises(gob.FrameError, match=error):
        decode(data)


def slice_of_ints_value(count: int, element: bytes, given: int | None = None) -> bytes:
    """Type 66 = []int, type 65 = struct { Junk []int }, then a value of `count` elements
    (of which `given` are there)."""
    out = bytearray()
    for definition in (
        (66, {"SliceT": {"CommonType": {"Name": "[]int", "Id": 66}, "Elem": gob.INT}}),
        (
            65,
            {
                "StructT": {
                    "CommonType": {"Name": "T", "Id": 65},
                    "Field": [{"Name": "Junk", "Id": 66}],
                }
            },
        ),
    ):
        body = bytearray()
        gob.put_int(body, -definition[0])
        gob.put_struct(body, gob.WIRE, definition[1], gob.BOOTSTRAP)
        gob.message(out, body)
    body = bytearray()
    gob.put_int(body, 65)
    body.append(1)
    gob.put_uint(body, count)
    body += element * (count if given is None else given)
    body.append(0)
    gob.message(out, body)
    return bytes(out)


def test_a_value_of_too_many_parts_is_refused_quickly() -> None:
    started = time.monotonic()
    _, (item,) = decode(slice_of_ints_value(gob.MAX_VALUES + 1, b"\x02"))
    assert item.error == f"gob: a value made of more than {gob.MAX_VALUES} values"
    assert time.monotonic() - started < 1
    _, (fine,) = decode(slice_of_ints_value(1000, b"\x02"))
    assert fine.value == {"Junk": [1] * 1000}


def test_a_slice_longer_than_its_bytes_fails_that_value() -> None:
    _, (item,) = decode(slice_of_ints_value(3, b"\x02", given=1))  # then the struct's end
    assert item.error == "gob: decoding array or slice: length exceeds input size (3 elements)"


def test_values_nested_too_deep_are_refused_not_recursed_into() -> None:
    """type List struct { Next *List }, and a value `depth` levels deep."""

    def nested(depth: int) -> bytes:
        out = bytearray()
        body = bytearray()
        gob.put_int(body, -65)
        tree = {
            "StructT": {
                "CommonType": {"Name": "List", "Id": 65},
                "Field": [{"Name": "Next", "Id": 65}],
            }
        }
        gob.put_struct(body, gob.WIRE, tree, gob.BOOTSTRAP)
        gob.message(out, body)
        gob.message(out, bytearray(b"\xff\x82" + b"\x01" * depth + b"\x00" * (depth + 1)))
        return bytes(out)

    _, (shallow,) = decode(nested(50))
    assert shallow.error is None
    _, (deep,) = decode(nested(5000))
    assert deep.error == f"gob: values nested deeper than {gob.MAX_DEPTH}"


def definition(type_id: int, tree: dict[str, object]) -> bytes:
    out, body = bytearray(), bytearray()
    gob.put_int(body, -type_id)
    gob.put_struct(body, gob.WIRE, tree, gob.BOOTSTRAP)
    gob.message(out, body)
    return bytes(out)


def struct_definition(type_id: int, name: str, fields: list[tuple[str, int]]) -> bytes:
    common = {"Name": name, "Id": type_id}
    field_list = [{"Name": n, "Id": i} for n, i in fields]
    return definition(type_id, {"StructT": {"CommonType": common, "Field": field_list}})


def interface_split_value(count: int, late_types: int) -> bytes:
    """struct { Junk []int; Any interface{} }: `count` ints, then an interface value whose
    concrete type comes as `late_types` definitions, each in a message of its own (Go's decoder
    reads on for them), then its value `D{F: 5}` and the struct's end in one more message."""
    out = bytearray(definition(66, {"SliceT": {"CommonType": {"Name": "[]int"}, "Elem": gob.INT}}))
    out += struct_definition(65, "T", [("Junk", 66), ("Any", gob.INTERFACE)])
    body = bytearray()
    gob.put_int(body, 65)
    body.append(1)
    gob.put_uint(body, count)
    body += b"\x02" * count
    body += b"\x01\x01x"  # field Any: an interface holding a type named "x"
    gob.message(out, body)
    for n in range(late_types):
        out += struct_definition(67 + n, "D", [("F", gob.INT)])
    rest = bytearray()
    gob.put_int(rest, 67)
    rest += b"\x03\x01\x0a\x00\x00"  # the concrete value's length, D{F: 5}; T's end
    gob.message(out, rest)
    return bytes(out)


@pytest.mark.parametrize("chunk", [None, 1, 64])
def test_an_interface_whose_type_comes_in_later_messages_decodes_in_any_chunks(
    chunk: int | None,
) -> None:
    decoder, (item,) = decode(interface_split_value(3, 4), chunk)
    assert item.error is None
    assert item.value == {"Junk": [1, 1, 1], "Any": None}
    assert not decoder.pending


def test_a_value_spanning_too_many_messages_closes_the_stream() -> None:
    decode(interface_split_value(3, gob.MAX_SPAN - 2))
    with pytest.raises(gob.FrameError, match=f"spans more than {gob.MAX_SPAN} messages"):
        decode(interface_split_value(3, gob.MAX_SPAN))


@pytest.mark.parametrize("chunk", [None, 40])
def test_a_large_value_read_again_for_each_late_message_costs_time_linear_in_its_bytes(
    chunk: int | None,
) -> None:
    """The reviewer's 65 KB stream: 41,000 ints, then 1,000 definitions one message each.

    Each message used to decode the value again from its start, on a fresh budget: ~70 s of
    the event loop. Now every attempt at one value shares one budget."""
    stream = interface_split_value(41_000, 1_000)
    assert len(stream) < 66_000
    started = time.monotonic()
    decoder, items = decode(stream, chunk)
    assert time.monotonic() - started < 2
    assert items[0].error == f"gob: a value made of more than {gob.MAX_VALUES} values"
    assert not decoder.pending


# Fuzzing: any bytes, in any chunks, come out as values, values with Go's error or FrameError,
# never another exception, within BUDGET seconds (how long one connection may hold the loop).
GO_STREAM = (
    GO_REQUEST_0 + GO_PAYLOAD + GO_REQUEST_1 + GO_RESPONSE + GO_STRING + GO_EMPTY_STRING
) + GO_EMPTY_STRUCT
# Definitions of every kind, for generated values to refer to.
SOME_TYPES = b"".join(
    [
        struct_definition(65, "S", [("A", gob.INT), ("B", gob.STRING), ("C", 66), ("D", 67)]),
        struct_definition(66, "Any", [("X", gob.INTERFACE), ("Y", gob.BYTES)]),
        struct_definition(67, "Self", [("Next", 67), ("F", gob.FLOAT)]),
    ]
)


@st.composite
def gob_messages(draw: st.DrawFn) -> bytes:
    """Known definitions, then messages of a type id (one of ours, a basic one, any) and bytes."""
    out = bytearray(SOME_TYPES)
    for _ in range(draw(st.integers(1, 12))):
        body = bytearray()
        gob.put_int(body, draw(st.sampled_from([65, 66, 67, gob.STRING, gob.INT, -70, -65])))
        body += draw(st.binary(max_size=64))
        if draw(st.booleans()):
            body += draw(st.sampled_from([b"\x01", b"\x02", b"\x00", b"\xff\xff"])) * draw(
                st.integers(1, 2_000)
            )
        gob.message(out, body)
    return bytes(out)


GOB_INPUTS = st.one_of(
    st.binary(max_size=4_096),
    mutated(GO_STREAM),
    mutated(GO_REORDERED),
    mutated(interface_split_value(500, 12)),
    gob_messages(),
)


def run_gob(data: bytes, cuts: list[int]) -> list[gob.Item]:
    decoder = gob.StreamDecoder()
    items: list[gob.Item] = []
    try:
        for chunk in chunks(data, cuts):
            items += decoder.feed(chunk)
    except gob.FrameError:
        pass
    for item in items:
        for read in (
            lambda i: decoder.read_struct(i, REQUEST),
            lambda i: decoder.read_struct(i, RPC_PAYLOAD),
            decoder.read_string,
        ):
            with contextlib.suppress(gob.GobError):
                read(item)
    return items


@FUZZ
@given(data=GOB_INPUTS, cuts=st.lists(st.integers(), max_size=64))
def test_gob_decodes_any_bytes_in_any_chunks_quickly_raising_only_its_own_errors(
    data: bytes, cuts: list[int]
) -> None:
    started = time.monotonic()
    run_gob(data, cuts)
    assert time.monotonic() - started < BUDGET


@FUZZ
@given(cuts=st.lists(st.integers(), max_size=64))
def test_go_s_stream_decodes_the_same_in_any_chunks(cuts: list[int]) -> None:
    whole = run_gob(GO_STREAM, [])
    assert [i.error for i in whole] == [None] * 7
    assert run_gob(GO_STREAM, cuts) == whole
