"""The listener as a real process between the real RabbitMQ and the real logger (on SecantusDB).

Every name is prefixed with the run id, so runs never share a queue; all are deleted at the end.
"""

import asyncio
import itertools
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from aiohttp import web
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.system import RabbitNames
from devkit.wait import await_for, http_status, wait_for
from launcher.proxy import TcpProxy
from listener_service.fate import FAILURES_HEADER
from listener_service.logger_client import LoggerClient, Verdict
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from svckit.amqp import REASON_HEADER, Publisher

Doc = dict[str, Any]
PREFETCH = 16
# The tests' cap on a body the listener parses (the default is the logger's 1 MiB).
MAX_MESSAGE_SIZE = 256 * 1024
# A status the sick logger never answers with: it keeps the request waiting instead.
HANG = 0


def listener_process(
    rabbit_url: str, logger_url: str, names: RabbitNames, logs_dir: Path, **env: str
) -> ServiceProcess:
    return ServiceProcess(
        "listener_service",
        {
            "RABBIT_URL": rabbit_url,
            "LOGGER_URL": logger_url,
            "PREFETCH": str(PREFETCH),
            "RETRY_DELAY": "0.05",
            "RETRY_MAX_DELAY": "0.5",
            # Longer than the logger's own store deadline, so an overloaded store answers 503 first.
            "LOGGER_TIMEOUT": "10",
            "MAX_MESSAGE_SIZE": str(MAX_MESSAGE_SIZE),
            **names.env(),
            **env,
        },
        ready_path="/ready",
        log_dir=logs_dir,
        name="listener",
    )


@pytest.fixture(scope="module")
def names(run_id: str) -> RabbitNames:
    return RabbitNames.for_run(f"{run_id}.listener")


@pytest.fixture(scope="module")
async def admin(
    rabbit_url: str, names: RabbitNames
) -> AsyncIterator[tuple[AbstractRobustConnection, AbstractChannel]]:
    """The test's own connection: raw publishes, queue depths, the dead queue; cleans up after."""
    connection = await aio_pika.connect_robust(rabbit_url)
    channel = await connection.channel()
    yield connection, channel
    await connection.close()
    # The listener of these names depends on this fixture, so it has stopped by now.
    await names.delete(rabbit_url)


@pytest.fixture(scope="module")
def logger(secantus_url: str, mongo_database: str, logs_dir: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": secantus_url,
            "MONGO_DATABASE": f"{mongo_database}_listener",
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
        },
        ready_path="/ready",
        log_dir=logs_dir,
        name="logger-for-listener",
    )
    # Not waited for here: the listener fixture waits for both, so the two boot side by side.
    svc.start(wait=False)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def listener(
    rabbit_url: str,
    logger: ServiceProcess,
    names: RabbitNames,
    logs_dir: Path,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
) -> Iterator[ServiceProcess]:
    svc = listener_process(rabbit_url, logger.url, names, logs_dir)
    svc.start(wait=False)
    logger.wait_ready(60)
    svc.wait_ready(60)
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
async def publisher(
    rabbit_url: str, names: RabbitNames, listener: ServiceProcess
) -> AsyncIterator[Publisher]:
    pub = Publisher(rabbit_url, names.exchange)
    await pub.start()
    await await_for(_connected(pub), 10, what="the publisher to connect")
    yield pub
    await pub.close()


@pytest.fixture(scope="module")
async def logs(secantus_url: str, mongo_database: str) -> AsyncIterator[AsyncCollection[Doc]]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(secantus_url)
    yield client[f"{mongo_database}_listener"]["logs"]
    await client.close()


def _connected(pub: Publisher) -> Any:
    async def check() -> bool:
        return pub.connected

    return check


async def stored(logs: AsyncCollection[Doc], name: str) -> list[Doc]:
    return await logs.find({"name": name}).to_list()


async def wait_stored(logs: AsyncCollection[Doc], name: str, n: int, timeout: float) -> list[Doc]:
    async def enough() -> list[Doc] | None:
        docs = await stored(logs, name)
        return docs if len(docs) >= n else None

    docs: list[Doc] = await await_for(enough, timeout, interval=0.1, what=f"{n} {name!r} docs")
    return docs


def assert_each_once(docs: list[Doc], ids: list[str]) -> None:
    """Exactly one document per event, and nothing else."""
    stored_ids = [d["event_id"] for d in docs]
    assert len(stored_ids) == len(set(stored_ids)), "an event was stored twice"
    assert sorted(stored_ids) == sorted(ids)


async def publish_many(pub: Publisher, name: str, n: int, key: str = "log.INFO") -> list[str]:
    """n events, 20 in flight at a time; returns their ids once every one is confirmed."""
    ids: list[str] = []
    for start in range(0, n, 20):
        batch = [
            pub.publish(key, {"name": name, "data": f"event {i}"})
            for i in range(start, min(start + 20, n))
        ]
        ids += await asyncio.gather(*batch)
    return ids


async def depth(channel: AbstractChannel, queue: str) -> int:
    """Messages ready in `queue` now: declared again each time, since a robust channel hands
    out the queue of its first passive declare, with that declare's count."""
    declared = await channel.get_queue(queue)
    result = await declared.declare()
    return result.message_count or 0


async def dead_letters(channel: AbstractChannel, queue: str) -> list[AbstractIncomingMessage]:
    """Everything in a dead queue right now (acked, so the queue is drained)."""
    dead = await channel.get_queue(queue)
    found = []
    while (message := await dead.get(fail=False, timeout=5)) is not None:
        await message.ack()
        found.append(message)
    return found


async def test_every_event_is_stored_once_whatever_its_level(
    publisher: Publisher, logs: AsyncCollection[Doc], listener: ServiceProcess, run_id: str
) -> None:
    name = f"levels-{run_id}"
    ids = []
    for key in ("log.INFO", "log.WARNING", "log.ERROR"):
        ids += await publish_many(publisher, name, 20, key)

    docs = await wait_stored(logs, name, 60, 20)
    assert_each_once(docs, ids)
    assert {d["data"] for d in docs} == {f"event {i}" for i in range(20)}
    assert http_status(listener.url + "/ready") == 200


async def test_poison_and_refused_events_are_dead_lettered_with_a_reason_and_the_next_flows(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    _, channel = admin
    exchange = await channel.get_exchange(names.exchange)
    not_json = str(uuid.uuid4())
    await exchange.publish(
        aio_pika.Message(b"{not json", message_id=not_json, content_type="application/json"),
        "log.ERROR",
    )
    wrong_type = await publisher.publish("log.WARNING", {"name": 5, "data": "x"})
    good_name = f"after-poison-{run_id}"
    good = await publisher.publish("log.INFO", {"name": good_name, "data": "still flows"})

    docs = await wait_stored(logs, good_name, 1, 10)
    assert [d["event_id"] for d in docs] == [good]

    async def both_dead() -> list[AbstractIncomingMessage] | None:
        found = await dead_letters(channel, names.dead_queue)
        collected.extend(found)
        return collected if len(collected) >= 2 else None

    collected: list[AbstractIncomingMessage] = []
    await await_for(both_dead, 10, interval=0.1, what="two dead letters")
    reasons = {m.message_id: str(m.headers[REASON_HEADER]) for m in collected}
    assert set(reasons) == {not_json, wrong_type}
    assert "not valid JSON" in reasons[not_json]
    assert "400" in reasons[wrong_type]
    by_id = {m.message_id: m for m in collected}
    assert by_id[not_json].body == b"{not json"
    assert by_id[wrong_type].headers["x-original-routing-key"] == "log.WARNING"


def _nested(depth: int) -> Any:
    data: Any = "bottom"
    for _ in range(depth):
        data = [data]
    return data


# Each kind of poison: its body, its headers, and what its dead letter's reason says.
LONG_KEY = "é" * 200  # 400 bytes: longer than an AMQP short string (a routing key) may be
POISONS: dict[str, tuple[bytes, dict[str, Any], str]] = {
    # json.loads recursed into RecursionError here, and the message was never settled.
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, {}, "not valid JSON"),
    # Its dead letter's key is taken from the header: too long for a routing key.
    "a routing-key header over 255 bytes": (
        b"{not json",
        {"x-original-routing-key": LONG_KEY},
        "not valid JSON",
    ),
    "not UTF-8": (b'{"name": "\xff\xfe", "data": "x"}', {}, "not valid JSON"),
    "over MAX_MESSAGE_SIZE": (
        json.dumps({"name": "huge", "data": "x" * MAX_MESSAGE_SIZE}).encode(),
        {},
        "more than MAX_MESSAGE_SIZE",
    ),
    # Parsed (under orjson's 1024 levels), but deeper than can be encoded again to forward.
    "data nested 600 deep": (
        json.dumps({"name": "deep", "data": _nested(600)}).encode(),
        {},
        "cannot be forwarded",
    ),
}


async def test_poison_messages_are_all_dead_lettered_with_a_reason_and_the_good_ones_stored(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    listener: ServiceProcess,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    """300 poison messages, each kind more than PREFETCH times, amid good ones: before, each
    of the first two kinds was never settled and held a prefetch slot for good."""
    _, channel = admin
    exchange = await channel.get_exchange(names.exchange)
    name = f"amid-poison-{run_id}"
    expected: dict[str, str] = {}
    good: list[str] = []
    kinds = list(POISONS)
    for start in range(0, 300, 20):
        sends = []
        for i in range(start, start + 20):
            body, headers, reason = POISONS[kinds[i % len(kinds)]]
            message_id = str(uuid.uuid4())
            expected[message_id] = reason
            message = aio_pika.Message(body, message_id=message_id, headers=headers)
            sends.append(exchange.publish(message, "log.ERROR"))
        await asyncio.gather(*sends)
        good += await publish_many(publisher, name, 5)
        # A good event with the overlong header: stored like any other.
        good_id = str(uuid.uuid4())
        body = json.dumps({"name": name, "data": "long header"}).encode()
        headers = {"x-original-routing-key": LONG_KEY}
        await exchange.publish(
            aio_pika.Message(body, message_id=good_id, headers=headers), "log.INFO"
        )
        good.append(good_id)

    docs = await wait_stored(logs, name, len(good), 60)
    assert_each_once(docs, good)

    letters: dict[str, AbstractIncomingMessage] = {}

    async def all_dead() -> bool:
        letters.update(
            {m.message_id or "": m for m in await dead_letters(channel, names.dead_queue)}
        )
        return set(expected) <= set(letters)

    await await_for(all_dead, 60, interval=0.2, what="300 dead letters")
    assert not set(good) & set(letters), "a good event was dead-lettered"
    for message_id, reason in expected.items():
        assert reason in str(letters[message_id].headers[REASON_HEADER]), message_id
    long_header = [m for m in letters.values() if m.body == b"{not json"]
    assert long_header, "no dead letter of the long-header kind"
    # Kept whole as a header; only the routing key of the dead letter's publish was cut.
    assert all(m.headers["x-original-routing-key"] == LONG_KEY for m in long_header)

    # Consumption goes on, nothing is held, and the metrics say why each went.
    after = await publisher.publish("log.INFO", {"name": f"after-{name}", "data": "x"})
    assert [d["event_id"] for d in await wait_stored(logs, f"after-{name}", 1, 20)] == [after]
    assert http_status(listener.url + "/ready") == 200
    metrics = await asyncio.to_thread(_metrics, listener.url)
    assert _sample(metrics, "listener_messages_dead_lettered_total", 'reason="not_json"') >= 240
    assert _sample(metrics, "listener_messages_dead_lettered_total", 'reason="too_large"') >= 60
    assert _sample(metrics, "listener_messages_dead_lettered_total", 'reason="error"') == 0


def _sample(metrics: str, name: str, label: str = "") -> float:
    """The value of the metric's sample whose labels include `label` (0 when it has none)."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_events_wait_while_the_logger_is_down_and_are_all_stored_when_it_is_back(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    logger: ServiceProcess,
    listener: ServiceProcess,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    _, channel = admin
    name = f"outage-{run_id}"
    logger.stop()
    ids = await publish_many(publisher, name, 40)

    # The listener holds at most PREFETCH of them; the rest wait in the durable queue.
    async def backlog() -> bool:
        return await depth(channel, names.queue) >= 40 - PREFETCH

    await await_for(backlog, 10, what="a backlog in the queue")
    assert http_status(listener.url + "/ready") == 200, "the listener gave up on RabbitMQ"

    logger.start()
    docs = await wait_stored(logs, name, 40, 30)
    assert_each_once(docs, ids)
    assert await dead_letters(channel, names.dead_queue) == []


async def test_a_backlog_goes_in_batches_each_message_meeting_its_own_fate(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    listener: ServiceProcess,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    _, channel = admin
    name = f"backlog-{run_id}"
    listener.stop()
    ids = await publish_many(publisher, name, 30)
    refused = await publisher.publish("log.ERROR", {"name": 5, "data": "a number for a name"})
    ids += await publish_many(publisher, name, 30)
    # The same event again, as a publisher retrying after a lost confirm would send it.
    exchange = await channel.get_exchange(names.exchange)
    body = json.dumps({"name": name, "data": "event 0"}).encode()
    await exchange.publish(aio_pika.Message(body, message_id=ids[0]), "log.INFO")
    listener.start()

    docs = await wait_stored(logs, name, 60, 30)
    assert_each_once(docs, ids)
    [letter] = await await_for(
        lambda: dead_letters(channel, names.dead_queue), 10, interval=0.1, what="the dead letter"
    )
    assert letter.message_id == refused
    assert str(letter.headers[REASON_HEADER]).startswith("the logger refused it: 400 name:")
    await await_for(lambda: _drained(channel, names.queue), 10, what="the queue drained")
    metrics = await asyncio.to_thread(_metrics, listener.url)
    forwards = re.search(r"listener_forward_batch_size_count\{[^}]*\} (\S+)", metrics)
    entries = re.search(r"listener_forward_batch_size_sum\{[^}]*\} (\S+)", metrics)
    assert forwards is not None
    assert entries is not None
    # The backlog went in fewer forwards than messages: deliveries waiting went together.
    assert float(forwards[1]) < float(entries[1]) / 2


async def test_a_batch_of_big_entries_goes_in_parts_the_logger_takes_whole(
    listener: ServiceProcess, logger: ServiceProcess, logs: AsyncCollection[Doc]
) -> None:
    """40 entries of 60 KiB (2.4 MB, over the logger's 1 MiB body limit as one batch): the
    client sends them in parts under it, so none is refused with 413 and sent one by one."""
    name = f"big-{uuid.uuid4().hex[:8]}"
    big = "x" * 60 * 1024
    entries = [orjson.dumps({"name": name, "data": f"{i} {big}"}) for i in range(40)]
    client = LoggerClient(logger.url, timeout=10, max_connections=4)
    try:
        answers = await client.write_batch(entries)
    finally:
        await client.close()
    assert {answer.verdict for answer in answers} == {Verdict.STORED}
    assert len(await stored(logs, name)) == 40
    metrics = await asyncio.to_thread(_metrics, logger.url)
    answered = r'http_server_requests_total\{[^}]*route="(/logs?)"[^}]*status="(\d+)"\} (\S+)'
    counts = {(route, status): float(n) for route, status, n in re.findall(answered, metrics)}
    assert ("/logs", "413") not in counts, counts
    assert counts.get(("/logs", "200"), 0) >= 3, counts  # 2.4 MB in parts of at most 768 KiB


async def _drained(channel: AbstractChannel, queue: str) -> bool:
    return await depth(channel, queue) == 0


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text: str = response.read().decode()
        return text


async def test_listener_killed_mid_stream_loses_nothing_and_stores_nothing_twice(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    listener: ServiceProcess,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    _, channel = admin
    name = f"sigkill-{run_id}"
    publishing = asyncio.create_task(publish_many(publisher, name, 200))

    await wait_stored(logs, name, 20, 20)
    listener.kill()
    ids = await publishing
    assert len(await stored(logs, name)) < 200, "the stream was over before the kill"
    assert await depth(channel, names.queue) > 0

    listener.start()
    docs = await wait_stored(logs, name, 200, 60)
    assert_each_once(docs, ids)


async def test_sigterm_finishes_in_flight_events_then_exits_cleanly(
    publisher: Publisher, logs: AsyncCollection[Doc], listener: ServiceProcess, run_id: str
) -> None:
    name = f"sigterm-{run_id}"
    publishing = asyncio.create_task(publish_many(publisher, name, 60))
    await wait_stored(logs, name, 10, 20)

    started = time.monotonic()
    code = await asyncio.to_thread(listener.stop)
    assert code in (0, -15), listener.output()
    assert time.monotonic() - started < 10
    assert "stopped consuming" in listener.output()

    ids = await publishing
    listener.start()
    docs = await wait_stored(logs, name, 60, 60)
    assert_each_once(docs, ids)


@dataclass
class SickLogger:
    """A real HTTP server standing in for an ill logger: answers each POST /log in turn with
    the next of `statuses` (the last one forever; HANG: no answer at all), recording when and
    which event came. Its `/ping` always answers: the process itself is fine. Like the
    original Go logger it has no `POST /logs`: it answers 404, counted in `batches`."""

    url: str
    statuses: list[int]
    calls: list[tuple[float, str]]
    batches: int = 0


@pytest.fixture(scope="module")
async def sick_logger() -> AsyncIterator[SickLogger]:
    sick = SickLogger("", [500], [])

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        sick.calls.append((time.monotonic(), body.get("event_id", "")))
        status = sick.statuses[min(len(sick.calls), len(sick.statuses)) - 1]
        if status == HANG:
            await asyncio.sleep(60)
        return web.json_response({"error": status >= 400, "message": "as told"}, status=status)

    async def ping(_: web.Request) -> web.Response:
        return web.Response(text=".")

    async def no_batches(_: web.Request) -> web.Response:
        sick.batches += 1
        return web.json_response({"error": True, "message": "404 page not found"}, status=404)

    app = web.Application()
    app.router.add_post("/log", answer)
    app.router.add_post("/logs", no_batches)
    app.router.add_get("/ping", ping)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    sick.url = f"http://127.0.0.1:{port}"
    yield sick
    await runner.cleanup()


@pytest.fixture(scope="module")
async def sick_listener(
    rabbit_url: str, sick_logger: SickLogger, logs_dir: Path, run_id: str
) -> AsyncIterator[tuple[ServiceProcess, Publisher, RabbitNames]]:
    """A listener of its own (own exchange and queues) in front of the sick logger."""
    sick = RabbitNames.for_run(f"{run_id}.sick")
    svc = listener_process(
        rabbit_url,
        sick_logger.url,
        sick,
        logs_dir,
        MAX_DELIVERIES="3",
        RETRY_DELAY="0.2",
        RETRY_MAX_DELAY="0.4",
        LOGGER_TIMEOUT="1",
    )
    await asyncio.to_thread(svc.start)
    pub = Publisher(rabbit_url, sick.exchange)
    await pub.start()
    await await_for(_connected(pub), 10, what="the publisher to connect")
    yield svc, pub, sick
    await pub.close()
    await asyncio.to_thread(svc.stop)
    await sick.delete(rabbit_url)


@pytest.mark.parametrize(
    ("answer", "key", "last", "posts_per_try"),
    [(500, "log.ERROR", "500 as told", 1), (HANG, "log.WARNING", "no answer within 1 s", 2)],
    ids=["500", "hangs while it answers ping"],
)
async def test_a_logger_failing_an_event_gives_it_max_deliveries_tries_with_back_off_then_dead(
    sick_logger: SickLogger,
    sick_listener: tuple[ServiceProcess, Publisher, RabbitNames],
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    answer: int,
    key: str,
    last: str,
    posts_per_try: int,
) -> None:
    _, pub, sick = sick_listener
    _, channel = admin
    sick_logger.calls.clear()
    sick_logger.statuses[:] = [answer]
    event = await pub.publish(key, {"name": "sick", "data": "x"})

    async def dead() -> list[AbstractIncomingMessage]:
        return await dead_letters(channel, sick.dead_queue)

    [letter] = await await_for(dead, 20, interval=0.1, what="the dead letter")
    assert letter.message_id == event
    assert letter.headers[REASON_HEADER] == f"the logger failed it 3 times, last: {last}"
    assert letter.headers[FAILURES_HEADER] == 3
    assert letter.headers["x-original-routing-key"] == key
    assert json.loads(letter.body) == {"name": "sick", "data": "x"}
    # A try without an answer is made twice before it counts (the logger may have been resuming).
    assert [c[1] for c in sick_logger.calls] == [event] * 3 * posts_per_try
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(sick_logger.calls)]
    # Back-off of 0.2 s then 0.4 s between tries, never a hot loop.
    assert gaps[0] >= 0.18
    assert gaps[1] >= 0.36


@pytest.mark.parametrize(
    "answers",
    [[HANG, 202], [503] * 6 + [202]],
    ids=["one missed answer while it answers ping", "503s: its store is away"],
)
async def test_a_logger_that_cannot_take_an_event_yet_spends_none_of_its_tries(
    sick_logger: SickLogger,
    sick_listener: tuple[ServiceProcess, Publisher, RabbitNames],
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    answers: list[int],
) -> None:
    svc, pub, sick = sick_listener
    _, channel = admin
    sick_logger.calls.clear()
    sick_logger.statuses[:] = answers
    event = await pub.publish("log.INFO", {"name": "held", "data": "x"})

    async def accepted() -> bool:
        return len(sick_logger.calls) >= len(answers)

    await await_for(accepted, 15, interval=0.1, what="the logger to take the event")
    # More refusals than MAX_DELIVERIES=3 (or a miss that looks like one), yet no try was spent.
    assert [c[1] for c in sick_logger.calls] == [event] * len(answers)
    assert f"forwarding {event} failed" not in svc.output()
    assert await depth(channel, sick.queue) == 0
    assert await dead_letters(channel, sick.dead_queue) == []


async def test_a_logger_without_post_logs_gets_every_event_one_by_one_after_one_try(
    sick_logger: SickLogger,
    sick_listener: tuple[ServiceProcess, Publisher, RabbitNames],
    admin: tuple[AbstractRobustConnection, AbstractChannel],
) -> None:
    """The original Go logger has only `POST /log`: a burst still arrives whole, and the
    listener stops asking for batches after the first 404s."""
    svc, pub, sick = sick_listener
    _, channel = admin
    sick_logger.calls.clear()
    sick_logger.statuses[:] = [202]
    sick_logger.batches = 0
    events: set[str] = set()

    async def all_taken() -> bool:
        return {c[1] for c in sick_logger.calls} >= events

    for wave in range(3):
        # Bursts one after another: each would start batches of its own.
        events.update(
            await asyncio.gather(
                *(pub.publish("log.INFO", {"name": "burst", "data": str(i)}) for i in range(30))
            )
        )
        await await_for(all_taken, 20, interval=0.1, what=f"wave {wave} at POST /log")
    # At most one refused batch per forward in flight (FORWARDS_IN_FLIGHT, 2) before it knew.
    assert 1 <= sick_logger.batches <= 2
    assert "has no POST /logs" in svc.output()
    assert await depth(channel, sick.queue) == 0
    assert await dead_letters(channel, sick.dead_queue) == []


def _ready(url: str) -> tuple[int, str]:
    """`/ready`'s status and message."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
            return response.status, json.loads(response.read())["message"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["message"]


async def test_ready_names_a_consumer_stuck_on_a_delivery_and_the_gauge_counts_it(
    sick_logger: SickLogger, rabbit_url: str, logs_dir: Path, run_id: str
) -> None:
    """A delivery whose handling does not move for STUCK_AFTER (here a logger that keeps the
    forward waiting) turns `/ready` to 503 naming the consumer, until it moves again."""
    stuck = RabbitNames.for_run(f"{run_id}.stuck")
    svc = listener_process(
        rabbit_url, sick_logger.url, stuck, logs_dir, STUCK_AFTER="1", LOGGER_TIMEOUT="4"
    )
    await asyncio.to_thread(svc.start)
    pub = Publisher(rabbit_url, stuck.exchange)
    try:
        await pub.start()
        await await_for(_connected(pub), 10, what="the publisher to connect")
        sick_logger.calls.clear()
        sick_logger.statuses[:] = [HANG]
        await pub.publish("log.INFO", {"name": "waits", "data": "x"})

        async def not_ready() -> str | None:
            status, message = await asyncio.to_thread(_ready, svc.url)
            return message if status == 503 else None

        message = await await_for(not_ready, 20, interval=0.1, what="a 503")
        assert message.startswith("not ready: consumer: stuck: 1 deliveries held"), message
        metrics = await asyncio.to_thread(_metrics, svc.url)
        assert _sample(metrics, "listener_deliveries_unacked") == 1

        sick_logger.statuses[:] = [202]

        async def ready_again() -> bool:
            return (await asyncio.to_thread(_ready, svc.url))[0] == 200

        await await_for(ready_again, 30, interval=0.1, what="/ready 200 once it moved")
        metrics = await asyncio.to_thread(_metrics, svc.url)
        assert _sample(metrics, "listener_deliveries_unacked") == 0
    finally:
        await pub.close()
        await asyncio.to_thread(svc.stop)
        await stuck.delete(rabbit_url)


@pytest.mark.slow
async def test_a_long_logger_outage_with_the_listener_restarted_many_times_dead_letters_nothing(
    publisher: Publisher,
    logs: AsyncCollection[Doc],
    logger: ServiceProcess,
    listener: ServiceProcess,
    admin: tuple[AbstractRobustConnection, AbstractChannel],
    names: RabbitNames,
    run_id: str,
) -> None:
    """RabbitMQ 3.10 counts each return of a held message (the listener's channel closing) in
    `x-delivery-count`; more returns than the old `x-delivery-limit` of 5 spend no try."""
    _, channel = admin
    name = f"restarts-{run_id}"
    restarts = 7
    logger.stop()
    try:
        ids = await publish_many(publisher, name, PREFETCH // 2)

        async def all_held() -> bool:
            # One consumer (the killed one's channel is gone, so its events came back) and
            # nothing ready: the running listener holds them all. Depth alone could be read
            # before RabbitMQ noticed the kill, and a crash that held nothing returns nothing.
            declared = await (await channel.get_queue(names.queue)).declare()
            return declared.message_count == 0 and declared.consumer_count == 1

        for crash in range(restarts):
            # The listener holds every event (none is ready in the queue), then dies with them.
            await await_for(all_held, 20, what=f"the listener holding the events ({crash})")
            listener.kill()
            await asyncio.to_thread(listener.start)
        await await_for(all_held, 20, what="the listener holding the events")
        listener.kill()

        async def all_returned() -> bool:
            # The kill is over when the process is, but RabbitMQ returns the events only once
            # it has seen the connection close: a get before then finds the queue empty.
            declared = await (await channel.get_queue(names.queue)).declare()
            return declared.message_count == len(ids) and declared.consumer_count == 0

        await await_for(all_returned, 20, what="the killed listener's events back in the queue")
        queue = await channel.get_queue(names.queue)
        peeked = await queue.get(timeout=5)
        assert peeked is not None
        returns = peeked.headers["x-delivery-count"]
        assert isinstance(returns, int)
        assert returns >= restarts
        await peeked.nack(requeue=True)
        await asyncio.to_thread(listener.start)
    finally:
        logger.start()
    docs = await wait_stored(logs, name, len(ids), 30)
    assert_each_once(docs, ids)
    assert await dead_letters(channel, names.dead_queue) == []


async def test_listener_started_before_rabbitmq_waits_and_then_consumes(
    rabbit_url: str, logger: ServiceProcess, logs: AsyncCollection[Doc], logs_dir: Path, run_id: str
) -> None:
    late = RabbitNames.for_run(f"{run_id}.late")
    proxy = TcpProxy("127.0.0.1", 5672)
    svc = listener_process(
        rabbit_url.replace(":5672", f":{proxy.port}"), logger.url, late, logs_dir
    )
    await asyncio.to_thread(svc.start, False)
    try:
        await asyncio.to_thread(svc.wait_ready, 30, "/ping")
        # The wait is logged, with back-off, while the probes keep answering.
        await asyncio.to_thread(
            wait_for, lambda: "waiting for rabbitmq" in svc.output(), 30, what="a logged wait"
        )
        assert http_status(svc.url + "/ready") == 503
        assert svc.proc is not None
        assert svc.proc.poll() is None, "the listener gave up instead of waiting"

        proxy.open()
        await asyncio.to_thread(svc.wait_ready, 30)
        pub = Publisher(rabbit_url, late.exchange)
        await pub.start()
        await await_for(_connected(pub), 10, what="the publisher to connect")
        event = await pub.publish("log.WARNING", {"name": f"late-{run_id}", "data": "x"})
        await pub.close()
        docs = await wait_stored(logs, f"late-{run_id}", 1, 20)
        assert [d["event_id"] for d in docs] == [event]
    finally:
        await asyncio.to_thread(svc.stop)
        proxy.close()
        await late.delete(rabbit_url)
