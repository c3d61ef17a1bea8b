"""The shared publisher against the real RabbitMQ, with per-run exchange and queue names."""

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator

import aio_pika
import aiormq
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection
from devkit.net import free_port
from devkit.wait import await_for
from svckit.amqp import Publisher, declare_logs_exchange
from svckit.errors import DownstreamTimeout, DownstreamUnavailable


@pytest.fixture(scope="module")
def exchange(run_id: str) -> str:
    return f"{run_id}.svckit.logs_topic"


@pytest.fixture(scope="module")
async def admin(
    rabbit_url: str, exchange: str
) -> AsyncIterator[tuple[AbstractRobustConnection, AbstractChannel]]:
    """A connection of the test's own to arrange queues and read what the publisher sent."""
    connection = await aio_pika.connect_robust(rabbit_url)
    channel = await connection.channel()
    yield connection, channel
    await channel.exchange_delete(exchange)
    await connection.close()


@pytest.fixture(scope="module")
async def info_queue(
    admin: tuple[AbstractRobustConnection, AbstractChannel], exchange: str, run_id: str
) -> AsyncIterator[AbstractQueue]:
    _, channel = admin
    logs = await declare_logs_exchange(channel, exchange)
    queue = await channel.declare_queue(f"{run_id}.svckit.info", durable=True)
    await queue.bind(logs, "log.INFO")
    yield queue
    await queue.delete(if_unused=False, if_empty=False)


@pytest.fixture
async def publisher(rabbit_url: str, exchange: str, run_id: str) -> AsyncIterator[Publisher]:
    pub = Publisher(rabbit_url, exchange, connection_name=f"{run_id}-svckit-publisher")
    await pub.start()
    await await_for(lambda: _is_connected(pub), 10, what="the publisher to connect")
    yield pub
    await pub.close()


async def _is_connected(pub: Publisher) -> bool:
    return pub.connected


async def test_publish_returns_the_id_once_confirmed_and_the_message_is_persistent_json(
    publisher: Publisher, info_queue: AbstractQueue
) -> None:
    message_id = await publisher.publish("log.INFO", {"name": "event", "data": "héllo"})

    message = await info_queue.get(timeout=5, fail=True)
    assert message is not None
    await message.ack()
    assert message.message_id == message_id
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert json.loads(message.body) == {"name": "event", "data": "héllo"}


async def test_publish_keeps_a_message_id_given_by_the_caller(
    publisher: Publisher, info_queue: AbstractQueue
) -> None:
    given = "3f2b8c1e-0000-4000-8000-000000000001"
    assert await publisher.publish("log.INFO", {"name": "n", "data": "d"}, message_id=given) == (
        given
    )
    message = await info_queue.get(timeout=5, fail=True)
    assert message is not None
    await message.ack()
    assert message.message_id == given


async def test_unroutable_publish_is_an_error_naming_the_routing_key(
    publisher: Publisher, info_queue: AbstractQueue
) -> None:
    with pytest.raises(DownstreamUnavailable) as raised:
        await publisher.publish("log.NOBODY", {"name": "lost", "data": "x"})
    assert raised.value.status == 502
    assert "log.NOBODY" in raised.value.message


async def test_no_confirm_within_the_deadline_is_a_504(
    rabbit_url: str, exchange: str, info_queue: AbstractQueue, run_id: str
) -> None:
    pub = Publisher(rabbit_url, exchange, confirm_timeout=1e-6, connection_name=f"{run_id}-t")
    await pub.start()
    try:
        await await_for(lambda: _is_connected(pub), 10, what="the publisher to connect")
        with pytest.raises(DownstreamTimeout) as raised:
            await pub.publish("log.INFO", {"name": "slow", "data": "x"})
        assert raised.value.status == 504
    finally:
        await pub.close()
    await info_queue.purge()


async def test_start_does_not_wait_for_rabbitmq_and_publish_fails_fast_meanwhile() -> None:
    pub = Publisher(f"amqp://guest:secret@127.0.0.1:{free_port()}/", confirm_timeout=1)
    await asyncio.wait_for(pub.start(), 1)
    try:
        with pytest.raises(DownstreamUnavailable, match=r"^rabbitmq is unavailable$") as raised:
            await asyncio.wait_for(pub.publish("log.INFO", {"name": "n", "data": "d"}), 1)
        assert "not connected" in raised.value.detail
        with pytest.raises(ConnectionError) as refused:
            await pub.check()
        assert "secret" not in str(refused.value)
    finally:
        await asyncio.wait_for(pub.close(), 2)


async def test_exchange_has_the_originals_arguments_so_a_go_listener_can_share_it(
    publisher: Publisher, admin: tuple[AbstractRobustConnection, AbstractChannel], exchange: str
) -> None:
    connection, _ = admin
    # A redeclare with the original's exact arguments succeeds; any other arguments are refused.
    same = await connection.channel()
    await same.declare_exchange(
        exchange, aio_pika.ExchangeType.TOPIC, durable=True, auto_delete=False, internal=False
    )
    await same.close()
    other = await connection.channel()
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
        await other.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=False)


def _connection_pids(name: str) -> list[str]:
    """The server-side ids of the connections that carry `name` as their connection_name."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    # Tab-separated rows; the properties print as Erlang terms: {"connection_name","..."}.
    return [
        row.split("\t", 1)[0]
        for row in listing.stdout.splitlines()
        if f'{{"connection_name","{name}"}}' in row and row.startswith("<")
    ]


def _close_connection(pid: str) -> None:
    subprocess.run(
        ["rabbitmqctl", "-q", "close_connection", pid, "test: forced close"],
        capture_output=True,
        timeout=30,
        check=True,
    )


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl")
async def test_publisher_reconnects_after_the_server_closed_its_connection(
    publisher: Publisher, info_queue: AbstractQueue
) -> None:
    [before] = await asyncio.to_thread(_connection_pids, publisher.connection_name)
    await asyncio.to_thread(_close_connection, before)

    async def reconnected() -> bool:
        pids = await asyncio.to_thread(_connection_pids, publisher.connection_name)
        return bool(pids) and before not in pids

    await await_for(reconnected, 20, interval=0.2, what="a new connection from the publisher")
    await await_for(
        lambda: _is_connected(publisher), 10, what="the publisher's channel to be restored"
    )
    await publisher.check()
    await publisher.publish("log.INFO", {"name": "after", "data": "reconnect"})
    message = await info_queue.get(timeout=5, fail=True)
    assert message is not None
    await message.ack()
    assert json.loads(message.body) == {"name": "after", "data": "reconnect"}
