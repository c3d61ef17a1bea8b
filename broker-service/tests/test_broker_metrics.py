"""Every service's `/metrics` is Prometheus' text format, and its counters move with the calls
made (read with prometheus_client's own parser); a real Prometheus scrapes them all.
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import await_for, wait_for
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(svc: ServiceProcess) -> Samples:
    async with httpx.AsyncClient() as client:
        resp = await client.get(svc.url + "/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(resp.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= lab)


async def test_the_counters_move_with_the_calls(
    broker: httpx.AsyncClient, services: dict[str, ServiceProcess]
) -> None:
    before = {name: await scrape(svc) for name, svc in services.items()}
    log = {"log": {"name": "metered", "data": "x"}}
    for route in ("/log-http", "/log-rpc", "/log-grpc"):
        assert (await broker.post(route, json=log)).status_code == 202
    login = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}
    assert (await broker.post("/handle", json=login)).status_code == 202
    after = {name: await scrape(svc) for name, svc in services.items()}

    def moved(service: str, name: str, **labels: str) -> float:
        return value(after[service], name, **labels) - value(before[service], name, **labels)

    assert moved("broker", "http_server_requests_total", route="/log-rpc", status="202") == 1
    assert moved("broker", "http_server_request_duration_seconds_count", route="/handle") == 1
    for target, protocol in (
        ("logger-service", "http"),
        ("logger-rpc", "gob"),
        ("logger-grpc", "grpc"),
    ):
        assert (
            moved(
                "broker",
                "downstream_requests_total",
                target=target,
                protocol=protocol,
                outcome="ok",
            )
            == 1
        )
    for door in ("http", "gob", "grpc"):
        assert moved("logger", "logger_writes_total", door=door, outcome="ok") >= 1
    assert moved("logger", "logger_store_write_duration_seconds_count") >= 4
    assert moved("auth", "auth_logins_total", outcome="ok") == 1
    assert moved("auth", "auth_password_check_duration_seconds_count") == 1
    assert value(after["broker"], "http_server_requests_total", service="broker-service") > 0


async def test_the_listener_counts_what_it_consumed_and_stored_and_how_late(
    broker: httpx.AsyncClient, listener_proc: ServiceProcess
) -> None:
    before = await scrape(listener_proc)
    for n in range(3):
        body = {"log": {"name": "metered-rabbit", "data": str(n)}}
        assert (await broker.post("/log-rabbit", json=body)).status_code == 202

    async def all_stored() -> Samples | None:
        now = await scrape(listener_proc)
        grown = value(now, "listener_messages_stored_total") - value(
            before, "listener_messages_stored_total"
        )
        return now if grown >= 3 else None

    after = await await_for(all_stored, 15, what="three events stored by the listener")
    for name in ("listener_messages_consumed_total", "listener_publish_to_stored_seconds_count"):
        assert value(after, name) - value(before, name) >= 3, name
    # Publish to stored took seconds at most: the broker's timestamp is read, not guessed.
    lag_sum = value(after, "listener_publish_to_stored_seconds_sum") - value(
        before, "listener_publish_to_stored_seconds_sum"
    )
    assert 0 < lag_sum < 15


@pytest.fixture
def prometheus(services: dict[str, ServiceProcess], tmp_path: Path) -> Iterator[str]:
    """Debian's Prometheus scraping every service of the running system every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: `apt-get install -y prometheus` (.ci/run does)")
    targets = ", ".join(f"'127.0.0.1:{svc.port}'" for svc in services.values())
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        f"scrape_configs: [{{job_name: system, static_configs: [{{targets: [{targets}]}}]}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/-/ready"), 30, what="Prometheus ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_real_prometheus_finds_every_target_up(
    prometheus: str, services: dict[str, ServiceProcess]
) -> None:
    async def all_up() -> list[dict[str, Any]] | None:
        async with httpx.AsyncClient() as client:
            targets = (await client.get(prometheus + "/api/v1/targets")).json()["data"]
        active = targets["activeTargets"]
        return active if active and all(t["health"] == "up" for t in active) else None

    active = await await_for(all_up, 30, interval=0.5, what="every target up")
    assert len(active) == len(services)

    async def queried() -> bool:
        async with httpx.AsyncClient() as client:
            resp = await client.get(
                prometheus + "/api/v1/query", params={"query": "http_server_requests_total"}
            )
        services_seen = {r["metric"]["service"] for r in resp.json()["data"]["result"]}
        return {"broker-service", "logger-service"} <= services_seen

    await await_for(queried, 20, interval=0.5, what="the request counters in Prometheus")
