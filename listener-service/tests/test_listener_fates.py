"""The consumer's last resort, in process against the real RabbitMQ: an error nothing foresaw
(here a bug planted in our own logger client) still gives the message a fate, and the
consumer goes on.

The names are this run's own, deleted at the end.
"""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import orjson
import pytest
from devkit.system import RabbitNames
from devkit.wait import await_for
from listener_service.consumer import Listener
from listener_service.logger_client import Answer, LoggerClient, Verdict
from listener_service.settings import ListenerSettings
from svckit.amqp import REASON_HEADER


class BuggyLogger(LoggerClient):
    """Our client with a bug: a forward carrying an event named `bug` raises, as an error
    nothing foresaw would; every other event is answered stored."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", timeout=1, max_connections=1)
        self.stored: list[str] = []

    async def write_batch(self, entries: list[bytes]) -> list[Answer]:
        events = [orjson.loads(entry) for entry in entries]
        if any(event["name"] == "bug" for event in events):
            raise ZeroDivisionError("a bug")
        self.stored += [event["event_id"] for event in events]
        return [Answer(Verdict.STORED)] * len(events)


@pytest.fixture
async def buggy(rabbit_url: str, run_id: str) -> AsyncIterator[tuple[Listener, BuggyLogger]]:
    names = RabbitNames.for_run(f"{run_id}.fates")
    settings = ListenerSettings(
        rabbit_url=rabbit_url,
        exchange=names.exchange,
        queue=names.queue,
        dead_exchange=names.dead_exchange,
        dead_queue=names.dead_queue,
    )
    logger = BuggyLogger()
    listener = Listener(settings, logger)
    await listener.start()

    async def consuming() -> bool:
        try:
            await listener.check()
        except ConnectionError:
            return False
        return True

    try:
        await await_for(consuming, 20, what="the listener to consume")
        yield listener, logger
    finally:
        await listener.stop(5)
        await logger.close()
        await names.delete(rabbit_url)


async def _publish(url: str, exchange: str, name: str) -> str:
    message_id = str(uuid.uuid4())
    body = json.dumps({"name": name, "data": "x"}).encode()
    connection = await aio_pika.connect(url, timeout=5)
    async with connection:
        channel = await connection.channel()
        logs = await channel.get_exchange(exchange)
        await logs.publish(aio_pika.Message(body, message_id=message_id), "log.ERROR")
    return message_id


async def test_an_error_nothing_foresaw_dead_letters_the_message_and_the_next_is_stored(
    buggy: tuple[Listener, BuggyLogger], rabbit_url: str
) -> None:
    listener, logger = buggy
    s = listener.settings
    bug = await _publish(rabbit_url, s.exchange, "bug")

    connection = await aio_pika.connect(rabbit_url, timeout=5)
    async with connection:
        channel = await connection.channel()
        dead = await channel.get_queue(s.dead_queue)

        async def letter() -> Any:
            return await dead.get(fail=False, timeout=5)

        found = await await_for(letter, 20, interval=0.1, what="the dead letter")
        await found.ack()
    assert found.message_id == bug
    assert found.headers[REASON_HEADER] == "the listener failed on it: ZeroDivisionError: a bug"

    good = await _publish(rabbit_url, s.exchange, "good")

    async def stored() -> bool:
        return good in logger.stored

    await await_for(stored, 20, interval=0.1, what="the next event stored")
    # Nothing is left held, and the consumer does not count as stuck.
    assert listener.held.count() == 0
    await listener.check_progress()
