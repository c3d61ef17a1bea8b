"""The whole system started by the launcher, driven through its page in Debian's Chromium.

One launcher process runs every service on free ports with this run's own PostgreSQL database,
RabbitMQ names and mail catcher, and the SecantusDB it starts itself (no MONGO_URL is set);
the browser clicks every button and the test checks what a person would see, plus where each
call left its mark (MongoDB, the caught mail).
"""

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.browser import BUTTONS, chromium, page_at
from devkit.net import answers
from devkit.system import LocalSystem
from devkit.wait import await_for
from playwright.async_api import Browser, Page, expect
from pymongo import AsyncMongoClient

# Seven processes start one after another; on a busy 2-core machine that takes a minute or two.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def system(local_system: Callable[..., LocalSystem]) -> LocalSystem:
    return local_system("e2e").start()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture
async def page(browser: Browser, system: LocalSystem) -> AsyncIterator[Page]:
    async with page_at(browser, system.url("front_end") + "/") as page:
        yield page


@pytest.fixture(scope="module")
async def mongo_logs(system: LocalSystem, mongo_database: str) -> AsyncIterator[Any]:
    """The logger's collection on the SecantusDB the launcher started (no MONGO_URL was set)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_url)
    try:
        yield client[mongo_database]["logs"]
    finally:
        await client.close()


async def refresh_until(page: Page, text: str, timeout: float = 20.0) -> None:
    """Click Refresh until the log view shows `text` (RabbitMQ entries arrive a little later)."""

    async def shown() -> bool:
        await page.click("#logRefreshBtn")
        await expect(page.locator("#logStatus")).not_to_have_text("")
        return text in (await page.locator("#logList").inner_text())

    await await_for(shown, timeout, interval=0.3, what=f"{text!r} in the log view")


async def test_every_button_answers_and_leaves_its_mark(
    page: Page,
    system: LocalSystem,
    mongo_logs: Any,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = page.locator("#output li")
    for index, (button, (line, data, received)) in enumerate(BUTTONS.items()):
        await page.click(f"#{button}")
        await expect(output).to_have_count(index + 1)
        await expect(output.nth(index).locator(".line")).to_have_text(line)
        await expect(output.nth(index).locator(".took")).to_have_text(re.compile(r"\d+ ms$"))
        await expect(page.locator("#received")).to_contain_text(received)
        sent = json.loads(await page.locator("#payload").inner_text()) if data else None
        if data is not None:
            assert sent == {"action": "log", "log": {"name": "event", "data": data}}
        received_json = json.loads(await page.locator("#received").inner_text())
        assert received_json["error"] is False

    for _, data, _ in BUTTONS.values():
        if data is None:
            continue

        async def stored(data: str = data) -> dict[str, Any] | None:
            doc: dict[str, Any] | None = await mongo_logs.find_one({"name": "event", "data": data})
            return doc

        doc = await await_for(stored, timeout=20, what=f"the log entry {data!r} in MongoDB")
        assert doc["created_at"] is not None
        assert doc["updated_at"] is not None

    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        resp = await http.get(system.url("catcher_http") + "/api/v2/messages")
    mails = resp.json()["items"]
    assert any(
        "you@there.com" in m["Raw"]["To"] and m["Content"]["Headers"]["Subject"] == ["Test email"]
        for m in mails
    ), mails

    await refresh_until(page, "Some kind of RabbitMQ data")
    log_view = await page.locator("#logList").inner_text()
    for _, data, _ in BUTTONS.values():
        if data is not None:
            assert data in log_view
    await page.fill("#logFilter", "authentication")
    await refresh_until(page, "admin@example.com logged in")
    names = await page.locator("#logList .name").all_inner_texts()
    assert names
    assert set(names) == {"authentication"}

    folder = tmp_path_factory.mktemp("e2e-screenshots")
    shot = folder / "after-every-button.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    with capsys.disabled():
        print(f"\nscreenshot of the page after every button: {shot}")


async def test_the_launchers_prometheus_scrapes_every_service(system: LocalSystem) -> None:
    # Debian's prometheus is installed here (.ci/run installs it), so the launcher runs it.
    prometheus = system.url("prometheus")
    assert re.search(rf"Prometheus +{re.escape(prometheus)}", system.output())

    async def every_target_up() -> list[str] | None:
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.get(prometheus + "/api/v1/targets")
        active = resp.json()["data"]["activeTargets"]
        jobs = [t["labels"]["job"] for t in active if t["health"] == "up"]
        return jobs if len(jobs) == len(active) >= 6 else None

    jobs = await await_for(every_target_up, 30, interval=0.5, what="every target up")
    assert {
        "broker-service",
        "authentication-service",
        "logger-service",
        "mailer-service",
        "listener-service",
        "front-end",
    } <= set(jobs)


async def test_a_script_in_a_log_entry_shows_as_text(
    page: Page, system: LocalSystem, run_id: str
) -> None:
    name = f"xss-{run_id}"
    evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        resp = await http.post(
            system.url("broker") + "/log-http", json={"log": {"name": name, "data": evil}}
        )
    assert resp.status_code == 202, resp.text

    await page.fill("#logFilter", name)
    await refresh_until(page, evil)
    await expect(page.locator("#logList .data")).to_have_text([evil])
    assert await page.locator("#logList script, #logList img").count() == 0
    assert await page.evaluate("window.__pwned") is None


async def test_a_service_killed_with_sigkill_comes_back_by_itself_and_nothing_else_restarts(
    system: LocalSystem, mongo_logs: Any, run_id: str
) -> None:
    before = system.pids()
    os.kill(before["listener"], signal.SIGKILL)

    async def back() -> bool:
        restarted = system.pids()["listener"] != before["listener"]
        return restarted and "| listener is ready again" in system.output()

    await await_for(back, 30, interval=0.2, what="the listener started again and ready")
    after = system.pids()
    assert {n: p for n, p in after.items() if n != "listener"} == {
        n: p for n, p in before.items() if n != "listener"
    }
    assert re.search(
        r"\| listener exited \(by SIGKILL\) after [\d.]+ s ready: restart 1 in 0\.5 s$",
        system.output(),
        re.M,
    )
    data = f"after the listener came back {run_id}"
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        resp = await http.post(
            system.url("broker") + "/log-rabbit", json={"log": {"name": "event", "data": data}}
        )
    assert resp.status_code == 202, resp.text

    async def stored() -> Any:
        return await mongo_logs.find_one({"data": data})

    await await_for(stored, 20, what="the event stored by the new listener")


async def test_sigterm_stops_every_service_and_leaves_nothing_running(system: LocalSystem) -> None:
    pids = system.pids()
    assert set(pids) == {
        "mongo",
        "mailcatcher",
        "logger",
        "auth",
        "mail",
        "listener",
        "broker",
        "front-end",
        "prometheus",
    }
    assert re.search(r"^\d\d:\d\d:\d\d broker +\| ", system.output(), re.M)

    assert system.launcher is not None
    system.launcher.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(system.launcher.wait, 60) == 0

    async def all_gone() -> bool:
        return not any(map(alive, pids.values()))

    # A killed process takes a moment to vanish; the assertion below names any that stayed.
    with contextlib.suppress(AssertionError):
        await await_for(all_gone, timeout=5)
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert [name for name, port in system.ports.items() if answers("127.0.0.1", port)] == []
    assert "| everything stopped" in system.output()
