"""The broker end to end: the seed README's curl examples and every route, against real services.

Each test looks where the work should have landed: the logger's MongoDB collection, the mail
catcher's mailbox, or a probe queue bound to the run's exchange.
"""

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import httpx
import pytest
from devkit.mail import Catcher
from devkit.wait import await_for
from pymongo.collection import Collection

Doc = dict[str, Any]
# What `curl -d` sends: the broker must read the body as JSON all the same.
CURL = {"Content-Type": "application/x-www-form-urlencoded"}


def curl_d(body: str) -> dict[str, Any]:
    return {"content": body.encode(), "headers": CURL}


async def one_more(logs: Collection[Doc], query: dict[str, Any], before: int) -> None:
    """Wait until exactly one more entry matches `query` (other tests may log the same)."""

    async def counted() -> bool:
        return await asyncio.to_thread(logs.count_documents, query) == before + 1

    await await_for(counted, 10, what=f"one more entry {query}")


async def wait_stored(logs: Collection[Doc], timeout: float = 10, **query: Any) -> Doc:
    """The entry matching `query` once the logger has it."""
    doc: Doc = await await_for(
        lambda: asyncio.to_thread(logs.find_one, query), timeout, what=f"entry {query}"
    )
    return doc


async def test_seed_post_root_hits_the_broker(broker: httpx.AsyncClient) -> None:
    resp = await broker.post("/")
    assert resp.status_code == 200
    assert resp.json() == {"error": False, "message": "Hit the broker"}


async def test_seed_auth_example_authenticates_the_admin(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    resp = await broker.post(
        "/handle",
        **curl_d('{"action":"auth","auth":{"email":"admin@example.com","password":"verysecret"}}'),
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["message"] == "Authenticated!"
    assert body["data"]["email"] == "admin@example.com"
    assert body["data"]["first_name"] == "Admin"
    assert "password" not in body["data"]
    # The auth service records the login with the logger before it answers.
    await wait_stored(logs, name="authentication", data="admin@example.com logged in")


async def test_wrong_password_stays_401(broker: httpx.AsyncClient) -> None:
    resp = await broker.post(
        "/handle",
        json={"action": "auth", "auth": {"email": "admin@example.com", "password": "nope"}},
    )
    assert resp.status_code == 401
    assert resp.json() == {"error": True, "message": "invalid credentials"}


async def test_seed_log_example_travels_over_rpc(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    seed = {"name": "event", "data": "Some kind of data"}
    before = await asyncio.to_thread(logs.count_documents, seed)
    resp = await broker.post(
        "/handle", **curl_d('{"action":"log","log":{"name":"event","data":"Some kind of data"}}')
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"error": False, "message": "Processed payload via RPC:event"}
    await one_more(logs, seed, before)
    doc = await wait_stored(logs, name="event", data="Some kind of data")
    assert doc["created_at"] == doc["updated_at"]


async def test_seed_mail_example_reaches_the_mailbox(
    broker: httpx.AsyncClient, mail_catcher: Catcher
) -> None:
    before = len(mail_catcher.messages("you@there.com"))
    resp = await broker.post(
        "/handle",
        **curl_d(
            '{"action":"mail","mail":{"from":"me@example.com","to":"you@there.com",'
            '"subject":"Test email","message":"Hello world!"}}'
        ),
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"error": False, "message": "Message sent to you@there.com"}
    mail = (await mail_catcher.await_for("you@there.com", count=before + 1))[0]
    assert mail["Subject"] == "Test email"
    assert "me@example.com" in mail["From"]
    text = mail.get_body(("plain",))
    assert text is not None
    assert text.get_content().strip() == "Hello world!"


async def test_a_bad_address_from_mail_stays_400(broker: httpx.AsyncClient) -> None:
    resp = await broker.post(
        "/handle",
        json={
            "action": "mail",
            "mail": {
                "from": "me@example.com",
                "to": "not an address",
                "subject": "s",
                "message": "m",
            },
        },
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] is True


async def test_seed_grpc_example_is_logged(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    seed = {"name": "event", "data": "Some kind of gRPC data"}
    before = await asyncio.to_thread(logs.count_documents, seed)
    resp = await broker.post(
        "/log-grpc",
        **curl_d('{"action":"log","log":{"name":"event","data":"Some kind of gRPC data"}}'),
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"error": False, "message": "logged"}
    await one_more(logs, seed, before)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("/log-http", "logged"),
        ("/log-rpc", "Processed payload via RPC:door"),
        ("/log-grpc", "logged"),
    ],
)
async def test_each_logging_door_stores_the_entry(
    broker: httpx.AsyncClient, logs: Collection[Doc], route: str, message: str
) -> None:
    data = f"via {route} {uuid.uuid4()}"
    resp = await broker.post(
        route, json={"action": "ignored", "log": {"name": "door", "data": data}}
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"error": False, "message": message}
    await wait_stored(logs, name="door", data=data)


async def test_concurrent_rpc_logs_all_arrive(
    broker: httpx.AsyncClient, logs: Collection[Doc]
) -> None:
    batch = uuid.uuid4().hex
    replies = await asyncio.gather(
        *(broker.post("/log-rpc", json={"log": {"name": batch, "data": str(i)}}) for i in range(60))
    )
    assert [r.status_code for r in replies] == [202] * 60
    count = await asyncio.to_thread(logs.count_documents, {"name": batch})
    assert count == 60


async def test_log_rabbit_publishes_a_persistent_message_and_the_listener_stores_it(
    broker: httpx.AsyncClient, logs: Collection[Doc], probe: aio_pika.abc.AbstractQueue
) -> None:
    data = f"rabbit {uuid.uuid4()}"
    resp = await broker.post(
        "/log-rabbit", json={"level": "WARNING", "log": {"name": "rabbit", "data": data}}
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["message"] == "logged via RabbitMQ"
    message = await probe.get(timeout=5)
    await message.ack()
    assert message.routing_key == "log.WARNING"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == body["data"]["message_id"]
    assert json.loads(message.body) == {"name": "rabbit", "data": data}
    await wait_stored(logs, name="rabbit", data=data)


async def test_log_rabbit_defaults_to_info(
    broker: httpx.AsyncClient, probe: aio_pika.abc.AbstractQueue
) -> None:
    resp = await broker.post("/log-rabbit", json={"log": {"name": "rabbit", "data": "info"}})
    assert resp.status_code == 202, resp.text
    message = await probe.get(timeout=5)
    await message.ack()
    assert message.routing_key == "log.INFO"


async def test_logs_passes_the_logger_s_newest_entries_through(
    broker: httpx.AsyncClient,
) -> None:
    name = f"view-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        resp = await broker.post("/log-http", json={"log": {"name": name, "data": str(i)}})
        assert resp.status_code == 202
    resp = await broker.get("/logs", params={"name": name, "limit": 2})
    assert resp.status_code == 200, resp.text
    entries = resp.json()["data"]
    assert [e["data"] for e in entries] == ["2", "1"]
    assert {e["name"] for e in entries} == {name}


async def test_logs_passes_the_logger_s_refusal_on(broker: httpx.AsyncClient) -> None:
    resp = await broker.get("/logs", params={"limit": 100000})
    assert resp.status_code == 400
    assert "limit" in resp.json()["message"]


async def test_ready_reports_every_downstream(broker: httpx.AsyncClient) -> None:
    resp = await broker.get("/ready")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"] == {
        "authentication-service": "ok",
        "mail-service": "ok",
        "logger-service": "ok",
        "logger-rpc": "ok",
        "logger-grpc": "ok",
        "rabbitmq": "ok",
    }


async def test_cors_lets_the_front_end_s_origin_call_and_no_other(
    broker: httpx.AsyncClient,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = await broker.options("/handle", headers={"Origin": "http://front.test:8082", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://front.test:8082"
    other = await broker.options("/handle", headers={"Origin": "http://evil.test", **preflight})
    assert "access-control-allow-origin" not in other.headers
    hit = await broker.post("/", headers={"Origin": "http://localhost:8082"})
    assert hit.headers["access-control-allow-origin"] == "http://localhost:8082"


async def test_another_sites_page_cannot_send_mail_through_its_visitors_browser(
    broker: httpx.AsyncClient, mail_catcher: Catcher
) -> None:
    to = f"victim-{uuid.uuid4().hex[:8]}@there.com"
    body = json.dumps(
        {
            "action": "mail",
            "mail": {"from": "me@example.com", "to": to, "subject": "s", "message": "m"},
        }
    ).encode()
    # What a browser sends for a page elsewhere's `fetch(broker, {method: "POST", body})`:
    # text/plain, so no preflight; CORS could only hide the answer.
    text_plain = {"Content-Type": "text/plain;charset=UTF-8"}
    refused = await broker.post(
        "/handle",
        content=body,
        headers={**text_plain, "Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "error": True,
        "message": "cross-origin request refused: Sec-Fetch-Site is not same-origin",
    }
    # The front-end's page, another origin on the same site, is trusted (CORS_ORIGINS).
    page = {**text_plain, "Origin": "http://localhost:8082", "Sec-Fetch-Site": "same-site"}
    sent = await broker.post("/handle", content=body, headers=page)
    assert sent.status_code == 202, sent.text
    # Exactly the page's mail arrived: the refused request sent nothing.
    assert len(await mail_catcher.await_for(to, count=1)) == 1
