"""Property tests of the RPC door on a real socket, in both codecs.

Arbitrary names and data within the entry's caps (any text, empty, large) come back in the
reply and are stored as sent, and any over a cap are refused naming the field; arbitrary or
mutated byte streams never crash the door, never stall the other connections, and the door
closes each such connection once its peer has hung up.
"""

import socket
import uuid
from typing import Any

import pytest
from devkit.process import ServiceProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo.collection import Collection
from svckit.contract import LIMITS, LOG_INFO, RPC_PAYLOAD
from svckit.netrpc import Codec, Reply, client_codec

CODECS: tuple[Codec, ...] = ("jsonrpc", "gob")
NAME_MAX, DATA_MAX = LIMITS.log_name_max, LIMITS.log_data_max


def text_up_to(cap: int, repeats: int) -> st.SearchStrategy[str]:
    """Any text, empty included, and now and then one of up to `cap` characters (a short
    text repeated up to `repeats` times, cut at the cap)."""
    return st.one_of(
        st.text(max_size=min(cap, 200)),
        st.builds(
            lambda s, n: (s * n)[:cap], st.text(min_size=1, max_size=3), st.integers(1, repeats)
        ),
    )


# Within the caps every name and data fits, with the other, in one gob message.
NAME = text_up_to(NAME_MAX, 200)
DATA = text_up_to(DATA_MAX, 40_000)
# Each example is a few round trips to a real process: few of them, no per-example deadline.
SOCKET = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
Logs = Collection[dict[str, Any]]


class Connection:
    """A blocking client of the door in one codec: call, read the replies."""

    def __init__(self, port: int, codec: Codec) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.codec = client_codec(codec)
        self.seq = 0

    def call(self, name: str, data: str) -> Reply:
        self.seq += 1
        self.sock.sendall(
            self.codec.request(self.seq, LOG_INFO, RPC_PAYLOAD, {"Name": name, "Data": data})
        )
        while True:
            chunk = self.sock.recv(65536)
            assert chunk, "the door closed the connection"
            replies = list(self.codec.feed(chunk))
            if replies:
                (reply,) = replies
                assert reply.seq == self.seq
                return reply

    def close(self) -> None:
        self.sock.close()


def closed_after_hang_up(sock: socket.socket, timeout: float = 10) -> bool:
    """Half-close our side; True once the door closes its own (whatever it sent first)."""
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


@pytest.mark.parametrize("codec", CODECS)
@SOCKET
@given(name=NAME, data=DATA)
def test_any_name_and_data_round_trip_through_the_door(
    codec: Codec, name: str, data: str, rpc_port: int, logs: Logs
) -> None:
    before = logs.count_documents({"name": name, "data": data})
    conn = Connection(rpc_port, codec)
    try:
        reply = conn.call(name, data)
    finally:
        conn.close()
    assert (reply.result, reply.error) == (f"Processed payload via RPC:{name}", None)
    assert logs.count_documents({"name": name, "data": data}) == before + 1


@pytest.mark.parametrize("codec", CODECS)
@SOCKET
@given(
    field=st.sampled_from(["Name", "Data"]),
    over=st.integers(1, 5000),
    text=st.text(min_size=1, max_size=3),
)
def test_a_name_or_data_over_its_cap_is_refused_naming_it(
    codec: Codec, field: str, over: int, text: str, rpc_port: int, logs: Logs
) -> None:
    cap = NAME_MAX if field == "Name" else DATA_MAX
    marker = f"over-{uuid.uuid4().hex}"
    value = (text * (cap + over))[: cap + over]
    name, data = (value, marker) if field == "Name" else (marker, value)
    conn = Connection(rpc_port, codec)
    try:
        reply = conn.call(name, data)
    finally:
        conn.close()
    assert (reply.result, reply.error) == (
        None,
        f"{field}: String should have at most {cap} characters",
    )
    assert logs.count_documents({"$or": [{"name": marker}, {"data": marker}]}) == 0


def well_formed(codec: Codec) -> bytes:
    client = client_codec(codec)
    return b"".join(
        client.request(i, LOG_INFO, RPC_PAYLOAD, {"Name": f"mutant-{i}", "Data": "é"})
        for i in range(3)
    )


MUTATIONS = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(0, 255), st.sampled_from("rid")),
    min_size=1,
    max_size=5,
)


def mutated(data: bytes, edits: list[tuple[int, int, str]]) -> bytes:
    out = bytearray(data)
    for where, byte, how in edits:
        i = where % (len(out) + 1)
        if how == "i":
            out.insert(i, byte)
        elif i < len(out):
            if how == "r":
                out[i] = byte
            else:
                del out[i]
    return bytes(out)


@SOCKET
@given(
    stream=st.one_of(
        st.binary(min_size=1, max_size=400),
        st.builds(mutated, st.sampled_from(CODECS).map(well_formed), MUTATIONS),
    )
)
def test_junk_never_stalls_another_connection_and_is_closed_after_hang_up(
    stream: bytes, rpc_port: int, logs: Logs, logger: ServiceProcess
) -> None:
    failures = logger.log_path.read_text().count("Traceback")
    bad = socket.create_connection(("127.0.0.1", rpc_port), timeout=10)
    good = Connection(rpc_port, "gob")
    try:
        bad.sendall(stream)
        name = f"beside-junk-{uuid.uuid4().hex[:8]}"
        assert good.call(name, "served").error is None
        assert closed_after_hang_up(bad)
    finally:
        bad.close()
        good.close()
    assert logs.count_documents({"name": name}) == 1
    assert logger.log_path.read_text().count("Traceback") == failures, logger.output()
