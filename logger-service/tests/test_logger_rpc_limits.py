"""The net/rpc door's bounds on one client, on real sockets against a logger with tight limits."""

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for
from logger_fixtures import RpcPeer
from svckit import gob

METHOD = "RPCServer.LogInfo"
CAP, PER_ADDRESS, IDLE, READ, WRITE = 3, 2, 3.0, 1.0, 1.0


@pytest.fixture(scope="module")
def strict(secantus_url: str, mongo_database: str, logs_dir: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": secantus_url,
            "MONGO_DATABASE": mongo_database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
            "RPC_MAX_CONNECTIONS": str(CAP),
            "RPC_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
            "RPC_IDLE_TIMEOUT": str(IDLE),
            "RPC_READ_TIMEOUT": str(READ),
            "RPC_WRITE_TIMEOUT": str(WRITE),
            "RPC_MAX_BUFFERED": str(64 * 1024),
        },
        log_dir=logs_dir,
        name="logger-strict",
    )
    svc.start()
    yield svc
    assert svc.stop() in (0, -15), svc.output()


@pytest.fixture
async def connect(strict: ServiceProcess) -> Any:
    peers: list[RpcPeer] = []

    async def open_peer(rcvbuf: int | None = None, source: str = "127.0.0.1") -> RpcPeer:
        sock = socket.socket()
        sock.bind((source, 0))  # the whole 127/8 is loopback: other addresses, same machine
        if rcvbuf is not None:  # a small window, so that unread replies pile up at the server
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(
            sock, ("127.0.0.1", int(strict.env["RPC_PORT"]))
        )
        peer = RpcPeer(*await asyncio.open_connection(sock=sock))
        peers.append(peer)
        return peer

    yield open_peer
    for peer in peers:
        with contextlib.suppress(OSError):
            await peer.close()
    # The next test starts once the server has seen these go: a new connection is served.
    await await_for(lambda: served(open_peer), timeout=10, what="room under the cap")


async def served(connect: Any) -> bool:
    peer = await connect()
    try:
        await answered(peer, "probe")
    except (AssertionError, OSError):
        return False
    finally:
        await peer.close()
    return True


def log_of(svc: ServiceProcess, since: int) -> str:
    return svc.log_path.read_text()[since:]


async def ends(peer: RpcPeer, timeout: float) -> bool:
    """True once the server has closed the connection (EOF or reset) within `timeout`."""
    try:
        while await asyncio.wait_for(peer.reader.read(65536), timeout):
            pass
    except ConnectionError:
        pass
    return True


async def answered(peer: RpcPeer, name: str) -> dict[str, Any]:
    reply = await peer.call(METHOD, [{"Name": name, "Data": "d"}], 1)
    assert reply["result"] == f"Processed payload via RPC:{name}", reply
    return reply


async def test_connections_beyond_the_cap_are_closed_at_once_and_room_is_made_by_a_close(
    connect: Any, strict: ServiceProcess
) -> None:
    held = [await connect(source=f"127.0.0.{n + 1}") for n in range(CAP)]
    for n, peer in enumerate(held):
        await answered(peer, f"cap-{n}")
    extra = await connect(source="127.0.0.9")
    started = time.monotonic()
    assert await ends(extra, 2)
    assert time.monotonic() - started < 2
    await held[0].close()
    await await_for(lambda: served(connect), timeout=10, what="a connection served after a close")


async def test_one_address_cannot_take_every_connection(
    connect: Any, strict: ServiceProcess
) -> None:
    mine = [await connect() for _ in range(PER_ADDRESS)]
    for n, peer in enumerate(mine):
        await answered(peer, f"mine-{n}")
    one_more = await connect()
    started = time.monotonic()
    assert await ends(one_more, 2)
    assert time.monotonic() - started < 2
    # Another client still gets in while the first holds all it may.
    await answered(await connect(source="127.0.0.2"), "another-address")


async def test_an_idle_connection_is_closed_after_the_idle_timeout(
    connect: Any, strict: ServiceProcess
) -> None:
    since = len(strict.log_path.read_text())
    peer = await connect()
    await answered(peer, "idle")
    started = time.monotonic()
    assert await ends(peer, IDLE + 10)
    assert time.monotonic() - started >= IDLE * 0.9
    assert "closing the RPC connection from" in log_of(strict, since)


@pytest.mark.parametrize("drip", [False, True])
async def test_a_request_not_complete_within_the_read_timeout_closes_the_connection(
    connect: Any, strict: ServiceProcess, drip: bool
) -> None:
    since = len(strict.log_path.read_text())
    peer = await connect()
    frame = json.dumps({"method": METHOD, "params": [{"Name": "slow", "Data": "d"}], "id": 1})
    started = time.monotonic()
    await peer.send(frame[:10].encode())
    if drip:  # a byte now and then: never idle, never complete

        async def dribble() -> None:
            with contextlib.suppress(ConnectionError):
                for ch in frame[10:-1]:
                    await asyncio.sleep(READ / 4)
                    await peer.send(ch.encode())

        dripping = asyncio.create_task(dribble())
    assert await ends(peer, READ + 10)
    assert READ * 0.9 <= time.monotonic() - started < IDLE
    if drip:
        dripping.cancel()
    assert "a request not complete within 1 s" in log_of(strict, since)


async def test_a_client_that_never_reads_is_closed_and_does_not_hold_up_another(
    connect: Any, strict: ServiceProcess
) -> None:
    since = len(strict.log_path.read_text())
    deaf = await connect(rcvbuf=4096)
    # Error replies that echo a 100 KB method name: MBs of replies it never reads.
    method = "RPCServer." + "x" * 100_000
    calls = b"".join(
        json.dumps({"method": method, "params": [{}], "id": n}).encode() for n in range(150)
    )
    sending = asyncio.create_task(deaf.send(calls))
    other = await connect()
    started = time.monotonic()
    await answered(other, "beside-a-deaf-client")
    assert time.monotonic() - started < 1
    await await_for(
        lambda: asyncio.sleep(0, "its replies unread" in log_of(strict, since)),
        timeout=30,
        what="the deaf client closed",
    )
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await sending
    await answered(other, "after-the-deaf-client")


async def test_json_nested_too_deep_closes_that_connection_with_one_line_and_no_traceback(
    connect: Any, strict: ServiceProcess
) -> None:
    since = len(strict.log_path.read_text())
    deep, other = await connect(), await connect()
    await deep.send(b'{"method":"RPCServer.LogInfo","params":[' + b"[" * 100_000)
    assert await ends(deep, 5)
    await answered(other, "beside-deep-json")
    log = log_of(strict, since)
    assert log.count("nested deeper than") == 1
    assert "Traceback" not in log


async def test_a_client_s_long_type_name_is_clipped_in_the_log(
    connect: Any, strict: ServiceProcess
) -> None:
    """A header of a struct type named by half a MiB, whose ServiceMethod is an int: Go's error
    names the type; the log line quotes the start of it."""
    since = len(strict.log_path.read_text())
    peer = await connect()
    long_name = "N" * 500_000
    out, body = bytearray(), bytearray()
    gob.put_int(body, -65)
    tree = {
        "StructT": {
            "CommonType": {"Name": long_name, "Id": 65},
            "Field": [{"Name": "ServiceMethod", "Id": gob.INT}],
        }
    }
    gob.put_struct(body, gob.WIRE, tree, gob.BOOTSTRAP)
    gob.message(out, body)
    gob.message(out, bytearray(b"\xff\x82\x01\x02\x00"))
    await peer.send(bytes(out))
    assert await ends(peer, 5)
    log = log_of(strict, since)
    assert "wrong type (string) for received field NNN" in log
    assert max(len(line) for line in log.splitlines()) < 2_000
