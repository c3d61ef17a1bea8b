"""The codec reads a byte stream the way Go's json.Decoder does."""

import pytest
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
    frames = []
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
        StreamDecoder().feed(garbage)


def test_oversized_frame_raises() -> None:
    decoder = StreamDecoder(max_frame=100)
    with pytest.raises(FrameError):
        decoder.feed(b'{"a":"' + b"x" * 200)
