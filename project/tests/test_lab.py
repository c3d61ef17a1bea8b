"""The lab: the whole system under the launcher with lab controls on, loaded by Locust and broken
from its own page.

Locust runs the load generator a few seconds against it, through every broker path, and nothing
fails. Then the browser
kills the listener while a trickle runs on `/log-rabbit`, watches the queue grow on
the page, restarts the listener and sees the queue drain and every accepted event stored; then it
hangs the logger and sees the `log` action fail with 504 within the broker's deadline. The
screenshots go to docs/lab/, where docs/lab.md shows them.
"""

import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.browser import chromium, page_at
from devkit.system import LocalSystem
from devkit.wait import await_for
from playwright.async_api import Browser, Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "lab"
# The broker's deadline for a call to the logger (its LOGGER_TIMEOUT default), and slack for a
# busy 2-core machine.
LOGGER_DEADLINE_MS = 5000
SLACK_MS = 3000


@pytest.fixture(scope="module")
def system(local_system: Callable[..., LocalSystem]) -> LocalSystem:
    return local_system("lab", env={"LAUNCHER_LAB": "true", "LAUNCHER_PROMETHEUS": "false"}).start()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture
async def page(browser: Browser, system: LocalSystem) -> AsyncIterator[Page]:
    async with page_at(browser, system.url("front_end") + "/") as page:
        await expect(page.locator("#lab-listener td").nth(1)).to_have_text("ready")
        yield page


def test_the_load_generator_drives_every_path_and_nothing_fails(
    system: LocalSystem, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LOCUST_HOST": system.url("broker"),
        "LOCUST_RUN_TIME": "5s",
        "LOCUST_USERS": "4",
        "LOCUST_SPAWN_RATE": "4",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "project" / "loadgen" / "locustfile.py"),
            "--headless",
            "--only-summary",
            "--csv",
            str(tmp_path / "load"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with (tmp_path / "load_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows.pop("Aggregated")
    assert int(total["Request Count"]) > 0
    assert int(total["Failure Count"]) == 0, rows
    assert "95%" in run.stdout + run.stderr


async def figure(page: Page, element: str) -> int:
    text = await page.locator(f"#{element}").inner_text()
    return int(text) if text.isdigit() else -1


async def test_the_lab_refuses_a_page_of_another_origin_and_another_host(
    system: LocalSystem,
) -> None:
    lab = f"http://127.0.0.1:{system.ports['lab']}"
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        foreign = await http.post(
            lab + "/lab/listener/hang", headers={"Origin": "http://evil.example"}
        )
        rebound = await http.get(lab + "/lab/state", headers={"Host": "evil.example"})
        own = await http.get(lab + "/lab/state", headers={"Origin": system.url("front_end")})
    assert foreign.status_code == rebound.status_code == 403
    assert own.status_code == 200
    assert own.headers["Access-Control-Allow-Origin"] == system.url("front_end")
    listener = next(t for t in own.json()["data"]["targets"] if t["name"] == "listener")
    assert listener["state"] == "ready"


@pytest.mark.browser
async def test_a_killed_listener_lets_the_queue_grow_and_a_restart_drains_it_all(
    page: Page, system: LocalSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.select_option("#labDoor", "/log-rabbit")
    await page.fill("#labRate", "5")
    await page.click("#labTrickleStart")
    await expect(page.locator("#labLast")).to_contain_text("running")

    async def accepted(at_least: int) -> bool:
        return await figure(page, "labAccepted") >= at_least

    await await_for(lambda: accepted(3), 20, interval=0.2, what="the first events accepted")
    await page.click("#lab-listener-kill")
    await expect(page.locator("#lab-listener td").nth(1)).to_have_text("killed")

    async def queue_grew() -> bool:
        return await figure(page, "labQueueDepth") >= 10

    await await_for(queue_grew, 30, interval=0.2, what="the queue depth rising on the page")
    await expect(page.locator("#lab-listener td").nth(1)).to_have_text("killed")
    assert await figure(page, "labFailed") == 0
    await page.locator("#lab").screenshot(path=str(SHOTS / "listener-killed.png"))

    await page.click("#labTrickleStop")
    await expect(page.locator("#labLast")).to_contain_text("stopped")
    peak = await figure(page, "labQueueDepth")
    restarted = time.monotonic()
    await page.click("#lab-listener-restart")

    async def drained() -> bool:
        nonlocal peak
        depth = await figure(page, "labQueueDepth")
        peak = max(peak, depth)
        return depth == 0

    await await_for(drained, 60, interval=0.1, what="the queue drained on the page")
    drain = time.monotonic() - restarted

    async def all_stored() -> bool:
        stored, sent = await figure(page, "labStored"), await figure(page, "labSent")
        return stored == sent == await figure(page, "labAccepted") > 0

    await await_for(all_stored, 30, interval=0.2, what="every accepted event stored")
    await expect(page.locator("#lab-listener td").nth(1)).to_have_text("ready")
    await expect(page.locator("#lab-listener td").nth(3)).to_have_text("1")
    await page.locator("#lab").screenshot(path=str(SHOTS / "listener-restarted.png"))
    with capsys.disabled():
        print(
            f"\nlab: accepted {await figure(page, 'labAccepted')}, queue peak {peak}, "
            f"drained {drain:.1f} s after the restart, stored {await figure(page, 'labStored')}"
        )


@pytest.mark.browser
async def test_a_hung_logger_makes_the_log_action_answer_504_within_its_deadline(
    page: Page,
) -> None:
    await page.click("#lab-logger-hang")
    try:
        await expect(page.locator("#lab-logger td").nth(1)).to_have_text("hung")
        await page.click("#logBtn")
        row = page.locator("#output li").last
        await expect(row.locator(".status")).to_have_text("504", timeout=30_000)
        await expect(row.locator(".line")).to_contain_text("logger")
        took = int(re.sub(r"\D", "", (await row.locator(".took").inner_text()).split("·")[-1]))
        assert took <= LOGGER_DEADLINE_MS + SLACK_MS
        await expect(row.locator(".trace")).to_have_attribute("title", re.compile("TRACE_UI_URL"))
        await page.screenshot(path=str(SHOTS / "logger-hung.png"))
    finally:
        await page.click("#lab-logger-resume")
    await expect(page.locator("#lab-logger td").nth(1)).to_have_text("ready")


async def test_a_cut_database_makes_auth_not_ready_and_a_restore_brings_it_back(
    system: LocalSystem,
) -> None:
    lab = f"http://127.0.0.1:{system.ports['lab']}"
    login = {"action": "auth", "auth": {"email": "admin@example.com", "password": "verysecret"}}

    async def auth_row(http: httpx.AsyncClient) -> dict[str, Any]:
        targets = (await http.get(lab + "/lab/state")).json()["data"]["targets"]
        row: dict[str, Any] = next(t for t in targets if t["name"] == "auth")
        return row

    async with httpx.AsyncClient(timeout=20, trust_env=False) as http:
        assert (await http.post(lab + "/lab/postgres/cut")).status_code == 200
        try:

            async def auth_not_ready() -> bool:
                return bool((await auth_row(http))["state"] == "not ready")

            await await_for(auth_not_ready, 20, interval=0.3, what="auth not ready")
            assert "postgres" in (await auth_row(http))["failure"]
            refused = await http.post(system.url("broker") + "/handle", json=login)
            assert refused.status_code in (502, 503, 504), refused.text
            logged = await http.post(
                system.url("broker") + "/log-http", json={"log": {"name": "lab", "data": "x"}}
            )
            assert logged.status_code == 202
        finally:
            await http.post(lab + "/lab/postgres/restore")

        async def logs_in() -> bool:
            resp = await http.post(system.url("broker") + "/handle", json=login)
            return resp.status_code == 202

        await await_for(logs_in, 30, interval=0.5, what="logins once PostgreSQL is back")
        assert (await auth_row(http))["restarts"] == 0
