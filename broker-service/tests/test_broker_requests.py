"""Malformed and odd requests: 400 (or 413) with a message naming what is wrong, never a 500."""

import json
import time
from typing import Any

import httpx
import pytest
from devkit.mail import Catcher
from mail_service.models import MESSAGE_MAX, SUBJECT_MAX
from svckit.body_limit import MIB


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"action":', "malformed JSON: Expecting value"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'"log"', "the body must be a JSON object"),
        (b"", "the body must be a JSON object"),
        (b'{"action": 1}', "unknown action"),
        (b'{"action": "log"}', "log: Field required"),
        (b'{"action": "auth"}', "auth: Field required"),
        (b'{"action": "auth", "auth": {"email": "nobody", "password": "x"}}', "auth.email: not an"),
        (b'{"action": "mail", "mail": {"to": "a@b.c"}}', "mail.subject: Field required"),
        (
            b'{"action": "mail", "mail": {"to": "a@b.c", "subject": "Hi\\nBcc: x@y.z",'
            b' "message": "m"}}',
            "mail.subject: must not contain a line break",
        ),
        (b'{"action": "log", "log": {"name": 5, "data": "x"}}', "log.name: Input should be"),
        (b'{"action": "log", "log": "event"}', "log: Input should be"),
        (b'{"action": "shout"}', "unknown action"),
        (b'{"auth": {"email": "a@b.c", "password": "x"}}', "unknown action"),
    ],
)
async def test_a_bad_handle_body_is_400_naming_the_problem(
    broker: httpx.AsyncClient, body: bytes, message: str
) -> None:
    resp = await broker.post("/handle", content=body, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] is True
    assert message in resp.json()["message"]


async def test_go_style_keys_are_the_same_request(broker: httpx.AsyncClient) -> None:
    # The original decoded with Go's encoding/json, which matched keys case-insensitively.
    resp = await broker.post(
        "/handle", json={"Action": "log", "Log": {"Name": "go-keys", "DATA": "y"}}
    )
    assert (resp.status_code, resp.json()["message"]) == (
        202,
        "Processed payload via RPC:go-keys",
    )


@pytest.mark.parametrize("route", ["/log-http", "/log-rpc", "/log-grpc", "/log-rabbit"])
async def test_a_log_route_without_log_is_400(broker: httpx.AsyncClient, route: str) -> None:
    resp = await broker.post(route, json={"action": "log"})
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("log: Field required")


@pytest.mark.parametrize("level", ["DEBUG", "info", 3])
async def test_an_unknown_level_is_400(broker: httpx.AsyncClient, level: object) -> None:
    resp = await broker.post(
        "/log-rabbit", json={"level": level, "log": {"name": "n", "data": "d"}}
    )
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("level: Input should be 'INFO', 'WARNING' or 'ERROR'")


async def test_a_body_over_one_mebibyte_is_413(broker: httpx.AsyncClient) -> None:
    big = b'{"action":"log","log":{"name":"n","data":"' + b"x" * (1024 * 1024) + b'"}}'
    resp = await broker.post("/log-http", content=big)
    assert resp.status_code == 413
    assert resp.json()["error"] is True


def mail_of_one_mebibyte(field: str) -> bytes:
    """A `/handle` mail body whose `field` fills all of the 1 MiB the broker reads."""
    mail = {"to": "big@there.com", "subject": "s", "message": "m", field: ""}
    empty = json.dumps({"action": "mail", "mail": mail}).encode()
    mail[field] = "x" * (MIB - len(empty))
    return json.dumps({"action": "mail", "mail": mail}).encode()


@pytest.mark.parametrize(("field", "most"), [("subject", SUBJECT_MAX), ("message", MESSAGE_MAX)])
async def test_a_mail_text_over_the_mailers_cap_is_a_fast_400_naming_it(
    broker: httpx.AsyncClient, field: str, most: int
) -> None:
    body = mail_of_one_mebibyte(field)
    assert len(body) == MIB

    started = time.monotonic()
    resp = await broker.post("/handle", content=body)
    elapsed = time.monotonic() - started

    assert (resp.status_code, resp.json()["message"]) == (
        400,
        f"mail.{field}: String should have at most {most} characters",
    )
    assert elapsed < 1.0


async def test_a_mail_at_both_caps_passes_the_broker_and_the_mailer(
    broker: httpx.AsyncClient, mail_catcher: Catcher, run_id: str
) -> None:
    to = f"at-the-caps-{run_id}@there.com"
    subject, message = "s" * SUBJECT_MAX, "Grüße\n" * (MESSAGE_MAX // 6)
    mail = {"to": to, "subject": subject, "message": message}

    resp = await broker.post("/handle", json={"action": "mail", "mail": mail})

    assert resp.status_code == 202, resp.text
    [received] = await mail_catcher.await_for(to)
    assert received["Subject"] == subject
    text = received.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == message


async def test_unknown_fields_are_ignored_and_any_body_hits_the_broker(
    broker: httpx.AsyncClient,
) -> None:
    resp = await broker.post("/", content=b"not even json")
    assert resp.json() == {"error": False, "message": "Hit the broker"}
    resp = await broker.post(
        "/log-rpc", json={"extra": [1], "log": {"name": "n", "data": "d", "colour": "red"}}
    )
    assert resp.status_code == 202, resp.text


async def test_a_bad_limit_on_logs_is_400_naming_it(broker: httpx.AsyncClient) -> None:
    resp = await broker.get("/logs", params={"limit": "many"})
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("query.limit:")


async def test_the_openapi_document_describes_the_request_body(broker: httpx.AsyncClient) -> None:
    doc = (await broker.get("/openapi.json")).json()
    handle = doc["paths"]["/handle"]["post"]
    schemas = doc["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return found

    body = resolved(handle["requestBody"]["content"]["application/json"]["schema"])
    # One body per action, each needing its own object.
    needs = {}
    for member in map(resolved, body["oneOf"]):
        needs[member["properties"]["action"]["const"]] = set(member["required"])
    assert needs == {
        "auth": {"action", "auth"},
        "log": {"action", "log"},
        "mail": {"action", "mail"},
    }
    auth = resolved(schemas["AuthAction"]["properties"]["auth"])
    assert auth["properties"]["email"]["format"] == "email"
    # The mailer's caps, so a client generated from this document never sends what it refuses.
    mail = resolved(schemas["MailAction"]["properties"]["mail"])["properties"]
    assert (mail["subject"]["maxLength"], mail["message"]["maxLength"]) == (
        SUBJECT_MAX,
        MESSAGE_MAX,
    )
    log_route = doc["paths"]["/log-rabbit"]["post"]["requestBody"]["content"]["application/json"]
    log_body = resolved(log_route["schema"])
    assert log_body["required"] == ["log"]
    assert set(log_body["properties"]["level"]["anyOf"][0]["enum"]) == {"INFO", "WARNING", "ERROR"}
    assert {"/", "/handle", "/log-grpc", "/log-http", "/log-rpc", "/log-rabbit", "/logs"} <= set(
        doc["paths"]
    )
