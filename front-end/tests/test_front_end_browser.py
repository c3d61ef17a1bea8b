"""The page in a real Chromium with the broker down: a readable error line, a tidy layout."""

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devkit.browser import chromium
from devkit.net import free_port
from devkit.process import ServiceProcess
from playwright.async_api import Browser, Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dead_broker_url() -> str:
    # Nothing listens there: every call must end in an Error line, not a hang.
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def front_end(dead_broker_url: str, logs_dir: Path) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "front_end", {"BROKER_URL": dead_broker_url}, log_dir=logs_dir, name="front-end"
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


@pytest.fixture
async def page(browser: Browser, front_end: ServiceProcess) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(front_end.url + "/")
    yield page
    await context.close()


async def test_an_unreachable_broker_gives_an_error_line_with_its_duration(
    page: Page, dead_broker_url: str
) -> None:
    await page.click("#brokerBtn")
    line = page.locator("#output li").last
    await expect(line.locator(".line")).to_have_text(
        f"Error: cannot reach the broker at {dead_broker_url} (Failed to fetch)"
    )
    await expect(line.locator(".took")).to_have_text(re.compile(r"^broker · \d+ ms$"))


async def test_output_lines_accumulate_and_sent_shows_the_payload(page: Page) -> None:
    await page.click("#authBrokerBtn")
    await page.click("#logGBtn")
    await expect(page.locator("#output li.error")).to_have_count(2)
    await expect(page.locator("#payload")).to_contain_text('"data": "Some kind of gRPC data"')


async def test_the_log_view_says_why_it_is_empty(page: Page) -> None:
    await expect(page.locator("#logStatus")).to_contain_text("Error: cannot load the log entries")


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (375, 740)])
async def test_nothing_overflows_sideways_at_laptop_and_phone_widths(
    page: Page, width: int, height: int
) -> None:
    await page.set_viewport_size({"width": width, "height": height})
    await page.click("#mailBtn")
    await expect(page.locator("#output li")).to_have_count(1)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
