"""The attacks, one per finding of issue 24: what each sends (only ever to 127.0.0.1), how long
it lasts, whose process it is aimed at, and what the door it hits must answer.

Every attack is bounded in bytes and seconds. What all of them must leave alone (the other
doors answering within a second, nothing stored lost) is judged in `outcome`; what is
particular to one attack (a 400, a 403, a mail not sent, a poison message dead-lettered) it
checks itself and writes into `Hit.problems`.
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import grpc
import httpx
from aiormq.abc import FieldValue
from devkit.system import LocalSystem
from logs_proto import logs_pb2, logs_pb2_grpc
from svckit import gob, jsonrpc, netrpc
from svckit.contract import LIMITS, LOG_INFO, RPC_PAYLOAD

from hostile.doors import rpc_call, stored

MIB = 1024 * 1024
# How long an attack that is a state (connections held, a write answered by a long decode)
# is held while the doors are measured.
HOLD = 3.0
# The logger's default byte budget of one `GET /logs` answer (the suite leaves it as it is).
LOGS_ANSWER_MAX = 1024 * 1024
# Where the connection attacks come from: loopback, but not the honest callers' 127.0.0.1, as
# an attacker is never the broker (the doors cap what one address may hold).
ATTACKER_ADDRESS = "127.0.0.66"
# The suite's settings for the system, on top of LocalSystem's. Settings a branch does not
# know are ignored, so the same suite runs before and after the fixes.
HEADER_TIMEOUT = 2.0
SYSTEM_ENV = {
    # The HTTP doors' header deadline (svckit), short so that the slowloris attack is short.
    "HEADER_TIMEOUT": f"{HEADER_TIMEOUT:g}",
    # Fewer unacknowledged messages for the listener than its 200, so 50 poison ones would
    # fill its window if they stayed unacknowledged.
    "PREFETCH": "20",
}
# The entry cap the fix documents (`data` at most 64 KiB): an entry well over it.
OVER_SIZE = 200_000


@dataclass
class Hit:
    """What an attack sent and found: `problems` are broken expectations, `notes` facts."""

    sent: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Run = Callable[[LocalSystem, Hit], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Attack:
    """`targets`: the services (launcher names) whose CPU and memory are read from /proc
    while it runs; `max_rss_growth`: how far their resident memory may grow meanwhile."""

    name: str
    finding: str
    targets: tuple[str, ...]
    run: Run
    max_rss_growth: int | None = None


def _url(system: LocalSystem, name: str) -> str:
    return f"http://127.0.0.1:{system.ports[name]}"


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(trust_env=False, timeout=10.0)


# --- the logger's net/rpc door ---------------------------------------------------------------


def gob_bomb(ints: int = 41_000, definitions: int = 1_000) -> bytes:
    """A gob stream whose one value never completes: a struct of a `[]int` of `ints` elements
    and an interface value, whose concrete type's definitions then come one per message.

    A decoder that starts an unfinished value over at every new message does the `ints`
    again for each definition: quadratic work for about 65 KB. Our types go through
    `svckit.gob.Encoder`; the slice type and the value it has no writer for use the module's
    own primitives (a peer's bytes, not ours: the encoder is never meant to write them).
    """
    encoder = gob.Encoder()

    def definition(go_type: gob.GoStruct) -> bytes:
        # The encoder writes a type's definition before its first value only: the first
        # encoding less the second is the definition alone.
        first = encoder.encode_struct(go_type, {})
        return first[: len(first) - len(encoder.encode_struct(go_type, {}))]

    out = bytearray()
    slice_id, struct_id = 65, 66
    body = bytearray()
    gob.put_int(body, -slice_id)
    wire = {"SliceT": {"CommonType": {"Name": "[]int", "Id": slice_id}, "Elem": gob.INT}}
    gob.put_struct(body, gob.WIRE, wire, gob.BOOTSTRAP)
    gob.message(out, body)
    holder = gob.GoStruct(struct_id, "T", (("A", slice_id), ("B", gob.INTERFACE)), "main.T")
    out += definition(holder)
    body = bytearray()
    gob.put_int(body, struct_id)
    gob.put_uint(body, 1)  # field A
    gob.put_uint(body, ints)
    body += b"\x00" * ints
    gob.put_uint(body, 1)  # field B: the concrete type's name; its definitions follow
    name = b"main.Next"
    gob.put_uint(body, len(name))
    body += name
    gob.message(out, body)
    for n in range(definitions):
        one = gob.GoStruct(struct_id + 1 + n, f"D{n}", (("F", gob.INT),), f"main.D{n}")
        out += definition(one)
    return bytes(out)


async def gob_retry_storm(system: LocalSystem, hit: Hit) -> None:
    stream = gob_bomb()
    _, writer = await asyncio.open_connection("127.0.0.1", system.ports["logger_rpc"])
    try:
        writer.write(stream)
        await writer.drain()
        hit.sent += len(stream)
        await asyncio.sleep(HOLD)
    finally:
        writer.close()


async def jsonrpc_nested(system: LocalSystem, hit: Hit) -> None:
    depth = 100_000
    frame = b'{"method":"RPCServer.LogInfo","params":' + b"[" * depth + b"]" * depth + b',"id":1}\n'
    reader, writer = await asyncio.open_connection("127.0.0.1", system.ports["logger_rpc"])
    try:
        writer.write(frame)
        hit.sent += len(frame)
        try:
            answer = await asyncio.wait_for(reader.read(65536), 2.0)
        except TimeoutError:
            hit.problems.append("no error reply and no close within 2 s")
            return
        except ConnectionResetError:
            # Closed while our bytes were still arriving: the kernel answers those with a reset.
            answer = b""
        hit.notes.append(f"answered {answer[:80]!r}" if answer else "the door closed it")
    finally:
        writer.close()


async def rpc_never_reads(system: LocalSystem, hit: Hit) -> None:
    """Calls of an unknown 32 KiB method name (nothing stored; each error reply repeats it),
    for 4 s or 64 MiB, the replies never read."""
    _, writer = await asyncio.open_connection("127.0.0.1", system.ports["logger_rpc"])
    stalled = False
    deadline = time.monotonic() + 4.0
    try:
        seq = 0
        while time.monotonic() < deadline and hit.sent < 64 * MIB:
            frame = jsonrpc.request("RPCServer." + "x" * 32_768, {}, seq)
            writer.write(frame)
            hit.sent += len(frame)
            seq += 1
            try:
                await asyncio.wait_for(writer.drain(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                stalled = True
                break
            except OSError:
                hit.notes.append(f"the door closed the connection after {seq} calls")
                break
    finally:
        writer.transport.abort()
    if stalled:
        hit.notes.append("the door stopped reading (back-pressure)")


async def idle_connections(system: LocalSystem, hit: Hit) -> None:
    """1,000 connections to the net/rpc door from one address (not the honest callers'):
    half say nothing, half start a call and stop."""
    opened: list[asyncio.StreamWriter] = []
    partial = b'{"method":"RPCServer.LogInfo","params":[{"Name":"x"'
    port = system.ports["logger_rpc"]
    try:
        for n in range(1_000):
            try:
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(ATTACKER_ADDRESS, 0)
                )
            except OSError as exc:
                hit.notes.append(f"connection {n} refused ({exc.strerror})")
                break
            if n % 2:
                writer.write(partial)
                hit.sent += len(partial)
            opened.append(writer)
        hit.notes.append(f"{len(opened)} connections held")
        await asyncio.sleep(HOLD)
        closed = sum(1 for w in opened if w.transport.is_closing() or w.is_closing())
        hit.notes.append(f"{closed} closed by the door within {HOLD:g} s")
    finally:
        for writer in opened:
            writer.transport.abort()


# --- entry sizes and GET /logs ---------------------------------------------------------------


async def logs_after_big_entries(system: LocalSystem, hit: Hit) -> None:
    """100 entries as large as the cap allows (6.4 MB) through the logger's HTTP door, then
    `GET /logs?limit=500` of them three times at once from the logger and through the broker:
    each answer within the logger's byte budget (`LOGS_ANSWER_MAX`, 1 MiB)."""
    name = f"hostile-big-{uuid.uuid4().hex[:8]}"
    data = "b" * LIMITS.log_data_max
    accepted = 0
    async with _http() as http:
        for _ in range(100):
            resp = await http.post(
                f"{_url(system, 'logger')}/log", json={"name": name, "data": data}
            )
            hit.sent += len(data) + len(name) + 30
            accepted += resp.is_success
        hit.notes.append(f"{accepted} of 100 entries of {LIMITS.log_data_max} characters stored")
        if accepted < 100:
            hit.problems.append(f"{100 - accepted} entries at the cap were refused")
        answers = await asyncio.gather(
            *(
                http.get(_url(system, door) + "/logs?limit=500", timeout=30.0)
                for door in ("logger", "broker") * 3
            ),
            return_exceptions=True,
        )
    sizes = [len(a.content) if isinstance(a, httpx.Response) else type(a).__name__ for a in answers]
    hit.notes.append(f"answers of {sizes} bytes")
    # The budget counts the entries; the envelope around them adds a little.
    if any(not isinstance(size, int) or size > LOGS_ANSWER_MAX + 4096 for size in sizes):
        hit.problems.append(f"an answer failed or passed the {LOGS_ANSWER_MAX}-byte budget")


async def over_size_entries(system: LocalSystem, hit: Hit) -> None:
    """An entry of 200 KB (`data`) on each door: HTTP, net/rpc (JSON-RPC and gob), gRPC and
    AMQP; each must be refused, none stored."""
    datas = {
        door: f"{door}:" + "o" * OVER_SIZE for door in ("http", "jsonrpc", "gob", "grpc", "amqp")
    }
    name = "hostile-over-size"
    async with _http() as http:
        resp = await http.post(
            f"{_url(system, 'logger')}/log", json={"name": name, "data": datas["http"]}
        )
        hit.sent += OVER_SIZE
        if resp.status_code != 400:
            hit.problems.append(f"HTTP /log answered {resp.status_code}, not 400")
    reply = await rpc_call(system, "RPCServer.LogInfo", {"Name": name, "Data": datas["jsonrpc"]})
    hit.sent += OVER_SIZE
    if reply and reply.get("error") is None:
        hit.problems.append("JSON-RPC LogInfo accepted it")
    codec = netrpc.GobClientCodec()
    reader, writer = await asyncio.open_connection("127.0.0.1", system.ports["logger_rpc"])
    try:
        frame = codec.request(1, LOG_INFO, RPC_PAYLOAD, {"Name": name, "Data": datas["gob"]})
        writer.write(frame)
        hit.sent += len(frame)
        replies: list[netrpc.Reply] = []
        with contextlib.suppress(TimeoutError, netrpc.StreamError):
            async with asyncio.timeout(5.0):
                while not replies and (chunk := await reader.read(65536)):
                    replies += list(codec.feed(chunk))
        if replies and replies[0].error is None:
            hit.problems.append("gob LogInfo accepted it")
    finally:
        writer.close()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{system.ports['logger_grpc']}") as channel:
        entry = logs_pb2.Log(name=name, data=datas["grpc"])
        hit.sent += OVER_SIZE
        try:
            await logs_pb2_grpc.LogServiceStub(channel).WriteLog(
                logs_pb2.LogRequest(logEntry=entry), timeout=5.0
            )
            hit.problems.append("gRPC WriteLog accepted it")
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                hit.problems.append(
                    f"gRPC WriteLog failed with {exc.code().name}, not INVALID_ARGUMENT"
                )
    dead_before = await system.dead_letters()
    await _publish(system, [json.dumps({"name": name, "data": datas["amqp"]}).encode()])
    hit.sent += OVER_SIZE
    if not await _dead_lettered(system, dead_before + 1):
        hit.problems.append("the AMQP entry was not dead-lettered within 15 s")
    kept = await stored(system, list(datas.values()), timeout=0.0)
    if kept:
        doors = sorted(d.split(":", 1)[0] for d in kept)
        hit.problems.append(f"stored through {', '.join(doors)}")


# --- authentication and mail through the broker ----------------------------------------------


async def long_email(system: LocalSystem, hit: Hit) -> None:
    email = "a" * (MIB - 100) + "@example.com"
    body = {"action": "auth", "auth": {"email": email, "password": "x"}}
    async with _http() as http:
        for _ in range(3):
            began = time.monotonic()
            resp = await http.post(f"{_url(system, 'broker')}/handle", json=body)
            took = time.monotonic() - began
            hit.sent += len(email) + 60
            if resp.status_code not in (400, 413) or took > 1.0:
                hit.problems.append(f"answered {resp.status_code} in {took:.2f} s, not 400 at once")


async def _mail_to(system: LocalSystem, recipient: str) -> bool:
    async with _http() as http:
        resp = await http.get(f"{_url(system, 'catcher_http')}/api/v2/messages")
    return recipient in resp.text


async def _no_mail_to(system: LocalSystem, recipient: str, hit: Hit, within: float = 3.0) -> None:
    """A mail that must not come: looked for until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await _mail_to(system, recipient):
            hit.problems.append(f"mail was sent to {recipient}")
            return
        await asyncio.sleep(0.2)


async def long_subject(system: LocalSystem, hit: Hit) -> None:
    recipient = f"subject-{uuid.uuid4().hex[:8]}@example.com"
    subject = "s" * (MIB - 300)
    mail = {"from": "a@example.com", "to": recipient, "subject": subject, "message": "hi"}
    async with _http() as http:
        began = time.monotonic()
        resp = await http.post(
            f"{_url(system, 'broker')}/handle", json={"action": "mail", "mail": mail}
        )
        took = time.monotonic() - began
    hit.sent += len(subject) + 150
    if resp.status_code not in (400, 413) or took > 1.0:
        hit.problems.append(f"answered {resp.status_code} in {took:.2f} s, not 400 at once")
    await _no_mail_to(system, recipient, hit)


def _login(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}


async def login_flood(system: LocalSystem, hit: Hit) -> None:
    """500 wrong logins at once from one address (10.66.1.1, told by X-Forwarded-For, which
    the service trusts from 127.0.0.1), each given up after 10 s."""
    url = f"{_url(system, 'auth')}/authenticate"
    body = _login(f"nobody-{uuid.uuid4().hex[:8]}@example.com", "wrong")
    headers = {"X-Forwarded-For": "10.66.1.1"}
    limits = httpx.Limits(max_connections=500)
    async with httpx.AsyncClient(trust_env=False, timeout=10.0, limits=limits) as http:
        answers = await asyncio.gather(
            *(http.post(url, json=body, headers=headers) for _ in range(500)),
            return_exceptions=True,
        )
    hit.sent += 500 * 200
    seen = Counter(
        str(a.status_code) if isinstance(a, httpx.Response) else type(a).__name__ for a in answers
    )
    hit.notes.append(", ".join(f"{what} ×{n}" for what, n in seen.most_common()))


async def account_lock(system: LocalSystem, hit: Hit) -> None:
    """30 wrong passwords for admin@example.com at once from 10.66.2.1; then the right one
    from 10.66.2.2 must log in."""
    url = f"{_url(system, 'auth')}/authenticate"
    async with _http() as http:
        wrong = _login("admin@example.com", "not-the-password")
        answers = await asyncio.gather(
            *(
                http.post(url, json=wrong, headers={"X-Forwarded-For": "10.66.2.1"})
                for _ in range(30)
            ),
            return_exceptions=True,
        )
        hit.sent += 30 * 200
        seen = Counter(
            str(a.status_code) if isinstance(a, httpx.Response) else type(a).__name__
            for a in answers
        )
        hit.notes.append("wrong: " + ", ".join(f"{what} ×{n}" for what, n in seen.most_common()))
        right = _login("admin@example.com", "verysecret")
        resp = await http.post(url, json=right, headers={"X-Forwarded-For": "10.66.2.2"})
        hit.sent += 200
    if not resp.is_success:
        hit.problems.append(f"the right password from another address got {resp.status_code}")


# --- every HTTP door: slow and big headers ---------------------------------------------------

HTTP_SERVICES = ("broker", "auth", "front_end", "mail", "logger", "listener")


async def slowloris(system: LocalSystem, hit: Hit) -> None:
    """50 connections to each HTTP service, each sending its headers a line every 0.5 s; the
    door must close them within its header deadline (`HEADER_TIMEOUT`) and 3 s more."""
    limit = HEADER_TIMEOUT + 3.0

    async def slow(port: int) -> bool:
        """Whether the door closed the connection in time."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        deadline = time.monotonic() + limit
        try:
            line = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            n = 0
            while time.monotonic() < deadline:
                writer.write(line)
                hit.sent += len(line)
                line = b"X-Slow-%d: 1\r\n" % n
                n += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await reader.read(65536)
                        if reader.at_eof():
                            return True
            return False
        except OSError:
            return True
        finally:
            writer.transport.abort()

    results = await asyncio.gather(
        *(slow(system.ports[s]) for s in HTTP_SERVICES for _ in range(50))
    )
    for i, service in enumerate(HTTP_SERVICES):
        held = results[i * 50 : (i + 1) * 50].count(False)
        if held:
            hit.problems.append(f"{service}: {held} of 50 still open after {limit:g} s")


async def big_headers(system: LocalSystem, hit: Hit) -> None:
    """10 MB of headers to each HTTP service (64 KiB lines), on one connection each: the door
    must stop it (431 or a close) before it is all sent."""
    line = b"X-Pad: " + b"p" * 65_536 + b"\r\n"
    total = 10 * 1000 * 1000

    async def one(service: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", system.ports[service])
        sent = 0
        try:
            writer.write(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            with contextlib.suppress(OSError):
                while sent < total:
                    writer.write(line)
                    sent += len(line)
                    await asyncio.wait_for(writer.drain(), 5.0)
                writer.write(b"\r\n")
                await asyncio.wait_for(writer.drain(), 5.0)
            try:
                answer = await asyncio.wait_for(reader.read(200), 5.0)
            except (TimeoutError, OSError):
                answer = b""
            status = answer[9:12].decode(errors="replace") if answer else "closed"
            if sent >= total and status not in ("431", "400", "closed"):
                hit.problems.append(f"{service} took all 10 MB of headers and answered {status}")
            else:
                hit.notes.append(f"{service}: {status} after {sent // 1024} KiB")
        except TimeoutError:
            hit.problems.append(f"{service} neither read nor refused the headers for 5 s")
        finally:
            hit.sent += sent
            writer.transport.abort()

    await asyncio.gather(*(one(s) for s in HTTP_SERVICES))


# --- AMQP ------------------------------------------------------------------------------------


async def _publish(
    system: LocalSystem, bodies: list[bytes], headers: dict[str, FieldValue] | None = None
) -> list[str]:
    """Persistent messages on the system's exchange (`log.INFO`), each with a message id."""
    ids = []
    connection = await aio_pika.connect(system.rabbit_url, timeout=5)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(system.names.exchange)
        for body in bodies:
            ids.append(uuid.uuid4().hex)
            message = aio_pika.Message(
                body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=ids[-1],
                headers=headers or {},
            )
            await exchange.publish(message, routing_key="log.INFO")
    return ids


async def _dead_lettered(system: LocalSystem, at_least: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await system.dead_letters() >= at_least:
            return True
        await asyncio.sleep(0.2)
    return False


async def poison_messages(system: LocalSystem, hit: Hit) -> None:
    """25 bodies nested 100,000 deep and 25 with an `x-original-routing-key` of 300 bytes (more
    than the listener's window, `PREFETCH`=20), then 5 good events: those stored, the 50
    dead-lettered."""
    dead_before = await system.dead_letters()
    deep = b'{"name":"deep","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    await _publish(system, [deep] * 25)
    long_key: dict[str, FieldValue] = {"x-original-routing-key": "k" * 300}
    # The logger refuses it (a number for a name), so the listener dead-letters it under that key.
    plain = json.dumps({"name": 5, "data": "long header"}).encode()
    await _publish(system, [plain] * 25, long_key)
    goods = [f"good after poison {n} {uuid.uuid4().hex}" for n in range(5)]
    await _publish(
        system, [json.dumps({"name": "hostile-good", "data": g}).encode() for g in goods]
    )
    hit.sent += 25 * len(deep) + 25 * (len(plain) + 300) + sum(len(g) + 30 for g in goods)
    found = await stored(system, goods, timeout=15.0)
    if len(found) < len(goods):
        hit.problems.append(f"{len(goods) - len(found)} of 5 good events after them not stored")
    if not await _dead_lettered(system, dead_before + 50):
        dead = await system.dead_letters() - dead_before
        hit.problems.append(f"{dead} of 50 poison messages dead-lettered within 15 s")


# --- the browser: cross-site requests --------------------------------------------------------


async def cross_site(system: LocalSystem, hit: Hit) -> None:
    """What a foreign page's `fetch` sends: `text/plain` (no preflight), with
    `Sec-Fetch-Site: cross-site`, and (an older browser) only a foreign `Origin`."""
    recipient = f"csrf-{uuid.uuid4().hex[:8]}@example.com"
    mail = {"from": "a@example.com", "to": recipient, "subject": "csrf", "message": "hi"}
    content = json.dumps({"action": "mail", "mail": mail})
    variants = {
        "Sec-Fetch-Site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        "Origin alone": {"Origin": "https://evil.example"},
    }
    async with _http() as http:
        for what, headers in variants.items():
            resp = await http.post(
                f"{_url(system, 'broker')}/handle",
                content=content,
                headers={"Content-Type": "text/plain", **headers},
            )
            hit.sent += len(content) + 100
            if resp.status_code != 403:
                hit.problems.append(f"{what}: answered {resp.status_code}, not 403")
    await _no_mail_to(system, recipient, hit)


def attacks() -> list[Attack]:
    return [
        Attack(
            "gob: a 41,000-int value held open by 1,000 type definitions",
            "High: one 65 KB write to 5001 freezes the logger",
            ("logger",),
            gob_retry_storm,
        ),
        Attack(
            "JSON-RPC params nested 100,000 deep",
            "Low: JSON-RPC nesting escapes the connection handler",
            ("logger",),
            jsonrpc_nested,
        ),
        Attack(
            "net/rpc client that never reads its replies",
            "Medium: no limits at any door (net/rpc buffers ~128 MiB)",
            ("logger",),
            rpc_never_reads,
            max_rss_growth=64 * MIB,
        ),
        Attack(
            "1,000 idle and half-open connections to net/rpc",
            "Medium: no limits at any door (net/rpc accept cap, idle timeout)",
            ("logger",),
            idle_connections,
        ),
        Attack(
            "GET /logs?limit=500 after 100 entries at the cap (6.4 MB)",
            "High: GET /logs can exhaust memory in the logger and the broker",
            ("logger", "broker"),
            logs_after_big_entries,
            max_rss_growth=64 * MIB,
        ),
        Attack(
            "an over-size entry on each door",
            "High: one per-entry cap on every door",
            ("logger",),
            over_size_entries,
        ),
        Attack(
            "1 MiB auth.email through the broker",
            "Medium: email fields of any length are validated on the loop",
            ("broker",),
            long_email,
        ),
        Attack(
            "1 MiB mail subject through the broker",
            "Medium: mail subjects have no cap, composed on the loop",
            ("broker", "mail"),
            long_subject,
        ),
        Attack(
            "500 wrong logins at once from one address",
            "Medium: the login limiter records after bcrypt; unbounded queue",
            ("auth",),
            login_flood,
        ),
        Attack(
            "30 wrong passwords for admin from one address, then the right one from another",
            "Medium: one address can keep an account locked",
            ("auth",),
            account_lock,
        ),
        Attack(
            "slowloris: 50 slow-header connections to each HTTP service",
            "Medium: no header timeout, no concurrency limit",
            ("broker", "logger"),
            slowloris,
        ),
        Attack(
            "10 MB of headers to each HTTP service",
            "Medium: 10 MB of headers accepted",
            ("broker", "logger"),
            big_headers,
        ),
        Attack(
            "poison AMQP messages: JSON 100,000 deep, a 300-byte x-original-routing-key",
            "Medium: poison messages stop the listener",
            ("listener",),
            poison_messages,
        ),
        Attack(
            "cross-site text/plain POST /handle",
            "Medium: any web page can drive /handle",
            ("broker",),
            cross_site,
        ),
    ]
