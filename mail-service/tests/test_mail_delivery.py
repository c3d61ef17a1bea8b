"""The service as a process, sending through the mail catcher: what a recipient receives."""

import email.utils
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.mail import Catcher
from devkit.process import ServiceProcess
from mail_service.models import MESSAGE_MAX, SUBJECT_MAX
from svckit.body_limit import MIB


@pytest.fixture(scope="module")
def service(mail_catcher: Catcher, logs_dir: Path) -> Iterator[ServiceProcess]:
    env = {
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": str(mail_catcher.smtp_port),
        "MAIL_DOMAIN": "mail.example.com",
        "FROM_NAME": "Jane Sender",
        "FROM_ADDRESS": "jane@sender.example.com",
    }
    svc = ServiceProcess("mail_service", env, log_dir=logs_dir, name="mail-service").start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=15) as client:
        yield client


def test_mail_arrives_as_text_then_html_with_inlined_style(
    http: httpx.Client, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"multipart-{run_id}@there.com"
    message = 'Hello <b>world</b> & "friends"\nsecond line, Grüße'
    body = {"from": "me@example.com", "to": to, "subject": "Test email ✓", "message": message}

    resp = http.post("/send", json=body)

    assert resp.status_code == 202, resp.text
    assert resp.json() == {"error": False, "message": f"sent to {to}"}
    [mail] = mail_catcher.wait_for(to)
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    # As it is, not HTML-escaped (SMTP carries every line ending as CRLF).
    assert text.get_content().replace("\r\n", "\n") == message
    html_body = html.get_content()
    assert "<style" not in html_body
    assert '<p style="' in html_body
    assert "white-space: pre-wrap" in html_body
    assert "Hello &lt;b&gt;world&lt;/b&gt; &amp;" in html_body
    assert "Grüße" in html_body


def test_headers_carry_from_name_date_and_message_id(
    http: httpx.Client, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"headers-{run_id}@there.com"

    resp = http.post(
        "/send", json={"from": "me@example.com", "to": to, "subject": "Grüße", "message": "Hi"}
    )

    assert resp.status_code == 202, resp.text
    [mail] = mail_catcher.wait_for(to)
    [sender] = mail["From"].addresses
    assert sender == Address("Jane Sender", addr_spec="me@example.com")
    assert mail["To"] == to
    assert mail["Subject"] == "Grüße"
    sent_at = email.utils.parsedate_to_datetime(mail["Date"])
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert mail["Message-ID"].endswith("@mail.example.com>")
    assert mail["MIME-Version"] == "1.0"
    [caught] = mail_catcher.caught(to)
    assert caught.mail_from == "me@example.com"
    assert caught.rcpt_tos == (to,)


def test_empty_from_sends_as_from_address(
    http: httpx.Client, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"no-from-{run_id}@there.com"

    resp = http.post("/send", json={"from": "", "to": to, "subject": "s", "message": "m"})

    assert resp.status_code == 202, resp.text
    [mail] = mail_catcher.wait_for(to)
    [sender] = mail["From"].addresses
    assert sender == Address("Jane Sender", addr_spec="jane@sender.example.com")
    assert mail_catcher.caught(to)[0].mail_from == "jane@sender.example.com"


def test_field_names_match_case_insensitively_as_the_go_decoder_did(
    http: httpx.Client, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"go-names-{run_id}@there.com"

    resp = http.post(
        "/send", json={"From": "me@example.com", "TO": to, "Subject": "hi", "MESSAGE": "m"}
    )

    assert resp.status_code == 202, resp.text
    assert mail_catcher.wait_for(to)[0]["Subject"] == "hi"


@pytest.mark.parametrize("field", ["subject", "from", "to"])
@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_line_break_in_a_header_value_is_400_and_nothing_is_sent(
    http: httpx.Client, mail_catcher: Catcher, run_id: str, field: str, line_break: str
) -> None:
    to = f"inject-{run_id}@there.com"
    body = {"from": "me@example.com", "to": to, "subject": "hello", "message": "m"}
    body[field] += f"{line_break}Bcc: victim-{run_id}@evil.example.com"

    resp = http.post("/send", json=body)

    assert resp.status_code == 400
    assert resp.json()["error"] is True
    assert resp.json()["message"].startswith(f"{field}: must not contain a line break")
    assert mail_catcher.caught(to) == []
    assert mail_catcher.caught(f"victim-{run_id}@evil.example.com") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "not-an-address"}, "to"),
        ({"to": "you@there.com", "from": "me@"}, "from"),
        ({"to": ["you@there.com"]}, "to"),
        ({"to": "you@there.com", "subject": 5}, "subject"),
        ({"to": None}, "to"),
    ],
)
def test_a_bad_field_is_400_naming_it(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    resp = http.post("/send", json={"subject": "s", "message": "m", **body})

    assert resp.status_code == 400
    assert resp.json()["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("field", ["to", "subject", "message"])
def test_every_field_but_from_is_required(http: httpx.Client, field: str, run_id: str) -> None:
    body = {"to": f"required-{run_id}@there.com", "subject": "s", "message": "m"}
    del body[field]
    resp = http.post("/send", json=body)

    assert (resp.status_code, resp.json()["message"]) == (400, f"{field}: Field required")


def test_a_body_that_is_not_a_json_object_is_400(http: httpx.Client) -> None:
    resp = http.post("/send", content=b"{not json", headers={"content-type": "application/json"})

    assert resp.status_code == 400
    assert resp.json()["message"].startswith("malformed JSON")


def test_ready_names_the_smtp_server_as_ok(http: httpx.Client) -> None:
    resp = http.get("/ready")

    assert resp.status_code == 200
    assert resp.json() == {"error": False, "message": "ready", "data": {"smtp": "ok"}}


def test_openapi_describes_send_with_its_schema(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()

    send = spec["paths"]["/send"]["post"]
    assert {"202", "400", "502", "504"} <= set(send["responses"])
    properties = spec["components"]["schemas"]["SendRequest"]["properties"]
    assert set(properties) == {"from", "to", "subject", "message"}
    assert properties["subject"]["maxLength"] == SUBJECT_MAX == 989
    assert properties["message"]["maxLength"] == MESSAGE_MAX


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("one-word", "x" * SUBJECT_MAX),  # `Subject: ` and it: exactly 998 characters
        ("non-ascii", ("Grüße, " * SUBJECT_MAX)[:SUBJECT_MAX]),  # RFC 2047 over many lines
        ("words", ("word " * SUBJECT_MAX)[: SUBJECT_MAX - 1] + "!"),  # folded at its spaces
        ("commas", "a," * (SUBJECT_MAX // 2)),  # no space to fold at: RFC 2047 too
    ],
)
def test_a_subject_of_the_most_characters_arrives_intact(
    http: httpx.Client, mail_catcher: Catcher, run_id: str, kind: str, subject: str
) -> None:
    to = f"long-subject-{kind}-{run_id}@there.com"

    resp = http.post("/send", json={"to": to, "subject": subject, "message": "m"})

    assert resp.status_code == 202, resp.text
    [mail] = mail_catcher.wait_for(to)
    assert mail["Subject"] == subject
    [raw] = mail_catcher.caught(to)
    head = raw.raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998


def test_a_message_of_the_most_characters_arrives_intact(
    http: httpx.Client, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"long-message-{run_id}@there.com"
    message = ("Grüße & <b>hello</b> 😀\n" * MESSAGE_MAX)[:MESSAGE_MAX]

    resp = http.post("/send", json={"to": to, "subject": "big", "message": message})

    assert resp.status_code == 202, resp.text
    [mail] = mail_catcher.wait_for(to)
    text = mail.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == message


def body_of_one_mebibyte(field: str) -> bytes:
    """A `/send` body whose `field` fills all of the 1 MiB the service reads."""
    body = {"to": "big@there.com", "subject": "s", "message": "m", field: ""}
    empty = json.dumps(body).encode()
    body[field] = "x" * (MIB - len(empty))
    return json.dumps(body).encode()


@pytest.mark.parametrize(("field", "most"), [("subject", SUBJECT_MAX), ("message", MESSAGE_MAX)])
def test_a_text_over_its_cap_is_a_fast_400_naming_it(
    http: httpx.Client, mail_catcher: Catcher, field: str, most: int
) -> None:
    body = body_of_one_mebibyte(field)
    assert len(body) == MIB

    started = time.monotonic()
    resp = http.post("/send", content=body, headers={"content-type": "application/json"})
    elapsed = time.monotonic() - started

    assert resp.status_code == 400, resp.text
    assert resp.json()["message"] == f"{field}: String should have at most {most} characters"
    assert elapsed < 1.0  # composing a subject this long took 2.7 s
    assert mail_catcher.caught("big@there.com") == []


@pytest.mark.parametrize(("field", "most"), [("subject", SUBJECT_MAX), ("message", MESSAGE_MAX)])
def test_one_character_over_the_cap_is_400(
    http: httpx.Client, run_id: str, field: str, most: int
) -> None:
    body = {
        "to": f"over-{run_id}@there.com",
        "subject": "s",
        "message": "m",
        field: "é" * (most + 1),
    }

    resp = http.post("/send", json=body)

    assert (resp.status_code, resp.json()["message"]) == (
        400,
        f"{field}: String should have at most {most} characters",
    )
