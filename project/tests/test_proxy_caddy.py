"""The compose proxy's own configuration (project/caddy/Caddyfile), run by Debian's caddy in
front of two real broker processes: it balances them, skips a killed one within seconds, and
the client's address, not the proxy's, is what the authentication service counts.

Everything the brokers' /ready needs runs for real: the logger (on the run's SecantusDB), auth
(on the run's PostgreSQL database), mail (to the session's catcher) and RabbitMQ. Caddy runs at
PROXY_LOG_LEVEL=DEBUG, so its log says which replica served each request and what it forwarded.
Clients are told apart by their loopback source address (127.0.0.2, ...), one per test.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from devkit.mail import Catcher
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import http_status, wait_for

pytestmark = pytest.mark.slow

CADDYFILE = Path(__file__).resolve().parents[1] / "caddy" / "Caddyfile"
ADMIN = {"email": "admin@example.com", "password": "verysecret"}
# The authentication service's default: failed logins allowed per client address a minute.
PER_ADDRESS = 10
# How soon a killed replica must be out of the rotation (active checks run every second).
MARKED_DOWN_WITHIN = 5.0

Client = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


def caddy() -> str:
    # test_deploy_static validates the file with this same binary.
    found = shutil.which("caddy")
    if found is None:
        pytest.fail("caddy is not installed: `apt-get install caddy` (.ci/run installs it)")
    return found


def upstream(broker: ServiceProcess) -> str:
    return f"127.0.0.1:{broker.port}"


@dataclass
class Proxy:
    port: int
    metrics_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Caddy at DEBUG logs each health event and, per request, the replica and headers it sent.
    def entries(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def is_down(self, replica: str) -> bool:
        """Caddy's own verdict: its last health event for `replica` (all start healthy)."""
        events = [
            e["name"]
            for e in self.entries()
            if e.get("logger") == "events" and e.get("data", {}).get("host") == replica
        ]
        return bool(events) and events[-1] == "unhealthy"

    def served(self, client: str) -> list[tuple[str, str]]:
        """(replica, X-Forwarded-For it was sent) for each request `client` made, in order."""
        found = []
        for entry in self.entries():
            request = entry.get("request", {})
            if entry.get("msg") == "upstream roundtrip" and request.get("remote_ip") == client:
                forwarded = ",".join(request["headers"].get("X-Forwarded-For", []))
                found.append((entry["upstream"], forwarded))
        return found


@pytest.fixture(scope="module")
def exchange(rabbit_url: str, run_id: str) -> Iterator[str]:
    """The brokers declare this run's exchange; it goes when they do."""
    name = f"test.proxy.{run_id}.logs_topic"
    yield name

    async def delete() -> None:
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            channel = await connection.channel()
            await channel.exchange_delete(name)

    with contextlib.suppress(Exception):
        asyncio.run(delete())


@pytest.fixture(scope="module")
def world(
    secantus_url: str,
    mongo_database: str,
    postgres_dsn: str,
    rabbit_url: str,
    exchange: str,
    mail_catcher: Catcher,
    logs_dir: Path,
) -> Iterator[dict[str, ServiceProcess]]:
    """Every process by name: logger, auth, mail, broker-1, broker-2."""
    started: list[ServiceProcess] = []

    def start(name: str, module: str, env: dict[str, str]) -> ServiceProcess:
        svc = ServiceProcess(module, env, log_dir=logs_dir, name=f"proxy-test-{name}")
        started.append(svc.start(wait=False))
        return svc

    rpc_port, grpc_port = free_port(), free_port()
    try:
        logger = start(
            "logger",
            "logger_service",
            {
                "MONGO_URL": secantus_url,
                "MONGO_DATABASE": mongo_database,
                "RPC_PORT": str(rpc_port),
                "GRPC_PORT": str(grpc_port),
            },
        )
        auth = start(
            "auth", "authentication_service", {"DSN": postgres_dsn, "LOGGER_URL": logger.url}
        )
        mail = start(
            "mail",
            "mail_service",
            {"MAIL_HOST": "127.0.0.1", "MAIL_PORT": str(mail_catcher.smtp_port)},
        )
        brokers = [
            start(
                f"broker-{n}",
                "broker_service",
                {
                    "AUTH_URL": auth.url,
                    "MAIL_URL": mail.url,
                    "LOGGER_URL": logger.url,
                    "LOGGER_RPC_ADDR": f"127.0.0.1:{rpc_port}",
                    "LOGGER_GRPC_ADDR": f"127.0.0.1:{grpc_port}",
                    "RABBIT_URL": rabbit_url,
                    "EXCHANGE": exchange,
                    # The proxy connects from 127.0.0.1: only its X-Forwarded-For is believed.
                    "FORWARDED_ALLOW_IPS": "127.0.0.1",
                },
            )
            for n in (1, 2)
        ]
        for svc in started:
            svc.wait_ready(90)
        yield {
            "logger": logger,
            "auth": auth,
            "mail": mail,
            "broker-1": brokers[0],
            "broker-2": brokers[1],
        }
    finally:
        for svc in reversed(started):
            with contextlib.suppress(AssertionError):
                svc.stop()


@pytest.fixture(scope="module")
def replicas(world: dict[str, ServiceProcess]) -> list[ServiceProcess]:
    return [world["broker-1"], world["broker-2"]]


@contextlib.contextmanager
def running_caddy(upstreams: list[str], log_dir: Path) -> Iterator[Proxy]:
    """Caddy with the compose Caddyfile; only the addresses differ, through its placeholders."""
    port = free_port()
    found = Proxy(port, free_port(), log_dir / f"proxy-test-caddy-{port}.log")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(log_dir),
        "PROXY_PORT": str(found.port),
        "PROXY_METRICS_PORT": str(found.metrics_port),
        "BROKER_UPSTREAMS": " ".join(upstreams),
        "PROXY_LOG_LEVEL": "DEBUG",
    }
    cmd = [caddy(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    with found.log.open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def serving() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"caddy exited with {proc.returncode}:\n{found.log.read_text()}"
                )
            return http_status(f"http://127.0.0.1:{found.metrics_port}/metrics") == 200

        wait_for(serving, 15, what="caddy serving")
        yield found
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def proxy(replicas: list[ServiceProcess], logs_dir: Path) -> Iterator[Proxy]:
    with running_caddy([upstream(b) for b in replicas], logs_dir) as found:
        yield found


@pytest.fixture
def client_at(proxy: Proxy) -> Client:
    """`async with client_at("127.0.0.2") as c`: a client of the proxy, connecting from there."""

    @asynccontextmanager
    async def client(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=proxy.url, transport=transport, timeout=15) as c:
            yield c

    return client


async def login(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> int:
    body = {"action": "auth", "auth": {"email": email, "password": password}}
    return (await client.post("/handle", json=body, headers=headers)).status_code


async def test_both_replicas_receive_traffic(
    replicas: list[ServiceProcess], proxy: Proxy, client_at: Client
) -> None:
    async with client_at("127.0.0.2") as client:
        for _ in range(3):
            r = await client.post("/")
            assert (r.status_code, r.json()["message"]) == (200, "Hit the broker")
            assert await login(client, **ADMIN) == 202
    served = [replica for replica, _ in proxy.served("127.0.0.2")]
    assert len(served) == 6
    assert set(served) == {upstream(b) for b in replicas}


async def test_a_killed_replica_is_skipped_and_no_request_fails_once_it_is_down(
    replicas: list[ServiceProcess], proxy: Proxy, client_at: Client
) -> None:
    survivor, victim = replicas
    victim.kill()
    killed_at = time.monotonic()
    wait_for(
        lambda: proxy.is_down(upstream(victim)),
        MARKED_DOWN_WITHIN,
        what=f"caddy marking {upstream(victim)} down",
    )
    took = time.monotonic() - killed_at
    try:
        async with client_at("127.0.0.3") as client:
            answers = [(await client.post("/")).status_code for _ in range(20)]
            logins = [await login(client, **ADMIN) for _ in range(4)]
        assert answers == [200] * 20, f"marked down {took:.1f} s after the kill"
        assert logins == [202] * 4
        # Skipped, not tried and retried: every request went straight to the survivor.
        assert [replica for replica, _ in proxy.served("127.0.0.3")] == [upstream(survivor)] * 24
    finally:
        # Back in the rotation, as a restarted container would be, for the tests after this.
        victim.start(wait=True, timeout=60)
        wait_for(
            lambda: not proxy.is_down(upstream(victim)),
            10,
            what=f"caddy taking {upstream(victim)} back",
        )


async def test_a_hung_replica_is_skipped_too(
    replicas: list[ServiceProcess], proxy: Proxy, client_at: Client
) -> None:
    survivor, victim = replicas
    assert victim.proc is not None
    os.kill(victim.proc.pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: proxy.is_down(upstream(victim)),
            MARKED_DOWN_WITHIN,
            what=f"caddy marking the hung {upstream(victim)} down",
        )
        async with client_at("127.0.0.6") as client:
            answers = [(await client.post("/")).status_code for _ in range(10)]
        assert answers == [200] * 10
        assert {replica for replica, _ in proxy.served("127.0.0.6")} == {upstream(survivor)}
    finally:
        os.kill(victim.proc.pid, signal.SIGCONT)
    wait_for(lambda: not proxy.is_down(upstream(victim)), 10, what="the thawed replica back")


async def test_a_dependency_every_replica_misses_leaves_the_rest_serving(
    world: dict[str, ServiceProcess], proxy: Proxy, client_at: Client
) -> None:
    # The replicas stay in the rotation: they are alive, and only mail is away.
    mail = {"from": "me@example.com", "to": "you@there.com", "subject": "s", "message": "m"}
    world["mail"].stop()
    try:
        async with client_at("127.0.0.7") as client:
            sent = await client.post("/handle", json={"action": "mail", "mail": mail})
            assert (sent.status_code, sent.json()["message"]) == (
                502,
                "mail-service is unavailable",
            )
            assert await login(client, **ADMIN) == 202
            assert (
                await client.post("/log-http", json={"log": {"name": "n", "data": "d"}})
            ).status_code == 202
    finally:
        world["mail"].start()


async def test_failed_logins_count_the_clients_address_not_the_proxys(
    proxy: Proxy, client_at: Client, run_id: str
) -> None:
    async with client_at("127.0.0.4") as attacker, client_at("127.0.0.5") as owner:
        for n in range(PER_ADDRESS):
            assert await login(attacker, f"nobody-{n}-{run_id}@example.com", "guess") == 401
        assert await login(attacker, f"nobody-more-{run_id}@example.com", "guess") == 429
        # The attacker is held back even with the right password, whatever it claims to be...
        assert await login(attacker, **ADMIN) == 429
        assert await login(attacker, **ADMIN, **{"X-Forwarded-For": "127.0.0.5"}) == 429
        # ...and another client behind the same proxy logs in: the proxy was never counted.
        assert await login(owner, **ADMIN) == 202
    # What the brokers were told: each client's own address, never what the client claimed.
    assert {xff for _, xff in proxy.served("127.0.0.4")} == {"127.0.0.4"}
    assert {xff for _, xff in proxy.served("127.0.0.5")} == {"127.0.0.5"}


async def test_with_no_replica_ready_the_proxy_answers_an_envelope_naming_the_broker(
    logs_dir: Path,
) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    with running_caddy([nowhere], logs_dir) as alone:
        wait_for(lambda: alone.is_down(nowhere), MARKED_DOWN_WITHIN, what="caddy seeing no replica")
        async with httpx.AsyncClient(base_url=alone.url, timeout=15) as client:
            started = time.monotonic()
            r = await client.post("/handle", json={"action": "log"})
            took = time.monotonic() - started
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": True, "message": "broker-service unavailable"}
    # Bounded by lb_try_duration (3 s): the client is told, never left hanging.
    assert took < 5, took
