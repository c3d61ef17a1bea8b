"""Debian's Chromium under Playwright for the browser tests: never a downloaded browser."""

import contextlib
import os
from collections.abc import AsyncIterator

from playwright.async_api import Browser, Page, async_playwright, expect

OK = "Response from broker service: "
# The test page's buttons, for every test that clicks them: element id → (the Output line, the
# payload's log data or None, a value the Received JSON holds).
BUTTONS: dict[str, tuple[str, str | None, str]] = {
    "brokerBtn": (OK + "Hit the broker", None, '"message": "Hit the broker"'),
    "authBrokerBtn": (OK + "Authenticated!", None, '"email": "admin@example.com"'),
    "logBtn": (OK + "Processed payload via RPC:event", "Some kind of data", '"error": false'),
    "mailBtn": (OK + "Message sent to you@there.com", None, '"error": false'),
    "logGBtn": (OK + "logged", "Some kind of gRPC data", '"message": "logged"'),
    "logHttpBtn": (OK + "logged", "Some kind of HTTP data", '"message": "logged"'),
    "logRpcBtn": (
        OK + "Processed payload via RPC:event",
        "Some kind of RPC data",
        '"message": "Processed payload via RPC:event"',
    ),
    "logRabbitBtn": (
        OK + "logged via RabbitMQ",
        "Some kind of RabbitMQ data",
        '"message": "logged via RabbitMQ"',
    ),
}

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium from `/usr/bin/chromium`, closed on exit."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def page_at(
    browser: Browser, url: str, *, ignore_https_errors: bool = False
) -> AsyncIterator[Page]:
    """A page of its own (a fresh context, laptop-sized, 20 s per action) opened at `url`;
    `ignore_https_errors` for a certificate of a private CA Chromium has not been told of."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 1000}, ignore_https_errors=ignore_https_errors
    )
    try:
        page = await context.new_page()
        page.set_default_timeout(20_000)
        await page.goto(url)
        yield page
    finally:
        await context.close()


async def click_every_button(page: Page) -> None:
    """Click each of the test page's buttons in turn; each answer's Output line and Received
    JSON are the expected ones (the proof, through any deployment, that every path works)."""
    output = page.locator("#output li")
    for index, (button, (line, _, received)) in enumerate(BUTTONS.items()):
        await page.click(f"#{button}")
        await expect(output).to_have_count(index + 1)
        await expect(output.nth(index).locator(".line")).to_have_text(line)
        await expect(page.locator("#received")).to_contain_text(received)
