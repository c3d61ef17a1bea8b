"""The catcher as MailHog's clients see it: SMTP in, MailHog's JSON and a safe page out."""

from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from devkit.mail import Catcher
from devkit.net import free_port
from devkit.process import ServiceProcess


@pytest.fixture(scope="module")
def catcher() -> Iterator[Catcher]:
    """A catcher of this module's own: these tests delete messages, others must not see that."""
    own = Catcher(max_messages=5).start()
    yield own
    own.stop()


@pytest.fixture
def fresh(catcher: Catcher) -> Catcher:
    catcher.clear()
    return catcher


@pytest.fixture
async def api(catcher: Catcher) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=catcher.http_url, timeout=5) as client:
        yield client


def multipart(to: str, subject: str, html: str, text: str = "plain words") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Sender <sender@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


async def smtp_send(catcher: Catcher, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message, hostname=catcher.host, port=catcher.smtp_port, start_tls=False, timeout=5
    )


async def test_v2_messages_answers_in_mailhogs_shape(
    fresh: Catcher, api: httpx.AsyncClient
) -> None:
    await smtp_send(fresh, multipart("you@there.com", "Shape", "<p>hello</p>"))

    body = (await api.get("/api/v2/messages")).json()

    assert (body["total"], body["count"], body["start"]) == (1, 1, 0)
    [item] = body["items"]
    assert item["From"] == {
        "Relays": None,
        "Mailbox": "sender",
        "Domain": "example.com",
        "Params": "",
    }
    assert item["To"] == [{"Relays": None, "Mailbox": "you", "Domain": "there.com", "Params": ""}]
    headers = item["Content"]["Headers"]
    assert headers["Subject"] == ["Shape"]
    assert headers["To"] == ["you@there.com"]
    assert headers["Content-Type"][0].startswith("multipart/alternative; boundary=")
    assert "<p>hello</p>" in item["Content"]["Body"]
    assert not item["Content"]["Body"].startswith("From:")  # the body, without the headers
    text, html = item["MIME"]["Parts"]
    assert text["Headers"]["Content-Type"][0].startswith("text/plain")
    assert text["Body"].strip() == "plain words"
    assert html["Headers"]["Content-Type"][0].startswith("text/html")
    assert "<p>hello</p>" in html["Body"]
    assert item["Raw"]["From"] == "sender@example.com"
    assert item["Raw"]["To"] == ["you@there.com"]
    assert item["Raw"]["Data"].startswith("From: Sender <sender@example.com>")
    assert item["Created"].endswith("Z")
    assert item["ID"].endswith("@mailhog.example")


async def test_v2_messages_lists_newest_first_and_pages(
    fresh: Catcher, api: httpx.AsyncClient
) -> None:
    for n in range(3):
        await smtp_send(fresh, multipart("you@there.com", f"number {n}", "<p>x</p>"))

    everything = (await api.get("/api/v2/messages")).json()
    page = (await api.get("/api/v2/messages", params={"start": 1, "limit": 1})).json()

    subjects = [i["Content"]["Headers"]["Subject"][0] for i in everything["items"]]
    assert subjects == ["number 2", "number 1", "number 0"]
    assert (page["total"], page["count"], page["start"]) == (3, 1, 1)
    assert page["items"][0]["Content"]["Headers"]["Subject"] == ["number 1"]


async def test_a_plain_message_has_no_mime_parts(fresh: Catcher, api: httpx.AsyncClient) -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message["Subject"] = "plain"
    message.set_content("just text")
    await smtp_send(fresh, message)

    [item] = (await api.get("/api/v2/messages")).json()["items"]

    assert item["MIME"] is None
    assert item["Content"]["Body"].strip() == "just text"


async def test_delete_v1_messages_forgets_everything(
    fresh: Catcher, api: httpx.AsyncClient
) -> None:
    await smtp_send(fresh, multipart("you@there.com", "doomed", "<p>x</p>"))

    deleted = await api.delete("/api/v1/messages")
    after = (await api.get("/api/v2/messages")).json()

    assert deleted.status_code == 200
    assert (after["total"], after["items"]) == (0, [])


async def test_the_oldest_messages_go_beyond_the_cap(
    fresh: Catcher, api: httpx.AsyncClient
) -> None:
    for n in range(7):  # the module's catcher keeps 5
        await smtp_send(fresh, multipart("you@there.com", f"capped {n}", "<p>x</p>"))

    body = (await api.get("/api/v2/messages")).json()

    assert body["total"] == 5
    assert body["items"][0]["Content"]["Headers"]["Subject"] == ["capped 6"]
    assert body["items"][-1]["Content"]["Headers"]["Subject"] == ["capped 2"]


class Elements(HTMLParser):
    """Every element of a page with its attributes, as a browser's parser would see them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


async def test_the_page_lists_mail_and_shows_html_only_inside_a_sandbox(
    fresh: Catcher, api: httpx.AsyncClient
) -> None:
    hostile = '<p>hi</p><script>alert("owned")</script><img src=x onerror=alert(1)>'
    await smtp_send(fresh, multipart("you@there.com", "<b>Sneaky</b> subject", hostile, "a & b"))

    page = await api.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    elements = Elements(page.text).elements
    tags = [tag for tag, _ in elements]
    assert not {"script", "b", "img"} & set(tags)
    assert not [name for _, attrs in elements for name in attrs if name.startswith("on")]
    [frame] = [attrs for tag, attrs in elements if tag == "iframe"]
    assert "sandbox" in frame
    assert not frame["sandbox"]  # no allowances at all: no scripts, forms or navigation
    assert (frame["srcdoc"] or "").strip() == hostile
    assert "&lt;b&gt;Sneaky&lt;/b&gt; subject" in page.text
    assert "Sender &lt;sender@example.com&gt;" in page.text
    assert "<pre>a &amp; b" in page.text


async def test_the_fixture_waits_for_mail_to_a_recipient(mail_catcher: Catcher) -> None:
    await smtp_send(mail_catcher, multipart("fixture@there.com", "found", "<p>x</p>"))

    [message] = await mail_catcher.await_for("fixture@there.com")

    assert message["Subject"] == "found"


async def test_python_m_mailcatcher_catches_and_stops_on_sigterm(logs_dir: Path) -> None:
    smtp_port, http_port = free_port(), free_port()
    env = {"CATCHER_SMTP_PORT": str(smtp_port), "CATCHER_HTTP_PORT": str(http_port)}
    process = ServiceProcess(
        "mailcatcher", env, port=http_port, ready_path="/api/v2/messages", log_dir=logs_dir
    ).start()
    try:
        message = multipart("cli@there.com", "by hand", "<p>x</p>")
        await aiosmtplib.send(
            message, hostname="127.0.0.1", port=smtp_port, start_tls=False, timeout=5
        )
        async with httpx.AsyncClient(base_url=process.url) as client:
            body = (await client.get("/api/v2/messages")).json()
    finally:
        code = process.stop()

    assert body["items"][0]["Content"]["Headers"]["Subject"] == ["by hand"]
    # uvicorn shuts down cleanly, then ends by the signal it caught.
    assert code in (0, -15)
    assert "Application shutdown complete" in process.output()
