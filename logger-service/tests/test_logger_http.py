"""The HTTP door against a real logger process and SecantusDB: what is answered, what is stored."""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from devkit.process import ServiceProcess
from pymongo.collection import Collection

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
async def http(logger: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=logger.url, timeout=10) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_post_log_is_202_and_stores_one_document_with_both_utc_dates(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name = unique("http")
    before = datetime.now(UTC) - timedelta(seconds=1)
    r = await http.post("/log", json={"name": name, "data": "some data", "ignored": 1})
    assert (r.status_code, r.json()) == (202, {"error": False, "message": "logged"})
    docs = list(logs.find({"name": name}))
    assert len(docs) == 1
    doc = docs[0]
    assert set(doc) == {"_id", "name", "data", "created_at", "updated_at"}
    assert doc["data"] == "some data"
    assert doc["created_at"] == doc["updated_at"]
    assert doc["created_at"].utcoffset() == timedelta(0)
    assert before <= doc["created_at"] <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_repeated_event_id_answers_202_and_stores_nothing_more(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name, event = unique("event"), str(uuid.uuid4())
    for _ in range(3):
        r = await http.post("/log", json={"name": name, "data": "once", "event_id": event})
        assert r.status_code == 202
    assert logs.count_documents({"name": name}) == 1
    assert logs.find_one({"name": name})["event_id"] == event  # type: ignore[index]


async def test_entries_without_event_id_are_all_stored(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name = unique("twice")
    for _ in range(2):
        assert (await http.post("/log", json={"name": name, "data": "x"})).status_code == 202
    assert logs.count_documents({"name": name}) == 2


async def test_malformed_json_is_400_and_stores_nothing(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    before = logs.count_documents({})
    r = await http.post(
        "/log", content=b'{"name": "half', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] is True
    assert r.json()["message"].startswith("malformed JSON")
    assert logs.count_documents({}) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5, "data": "x"}, "name"),
        ({"name": "n", "data": ["x"]}, "data"),
        ({"name": "n", "data": "x", "event_id": 7}, "event_id"),
        ({"data": "x"}, "name"),
    ],
)
async def test_a_field_of_the_wrong_type_or_missing_is_400_naming_it(
    http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await http.post("/log", json=body)
    assert r.status_code == 400
    assert r.json()["message"].startswith(field + ":")


async def test_a_body_that_is_not_an_object_is_400(http: httpx.AsyncClient) -> None:
    r = await http.post("/log", json=["name", "data"])
    assert (r.status_code, r.json()["message"]) == (400, "the body must be a JSON object")


async def test_a_body_declared_over_one_mib_is_413_before_it_is_read(
    logger: ServiceProcess,
) -> None:
    # A raw request asking `Expect: 100-continue`, as curl does for large bodies: the 413
    # comes from the declared length alone, so the body is never sent.
    reader, writer = await asyncio.open_connection("127.0.0.1", logger.port)
    try:
        writer.write(
            b"POST /log HTTP/1.1\r\nHost: logger\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048577\r\nExpect: 100-continue\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 413 ")
        length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
        body = json.loads(await reader.readexactly(length))
        assert body["error"] is True
        assert "larger than 1048576 bytes" in body["message"]
    finally:
        writer.close()


async def test_a_body_just_under_one_mib_is_accepted(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    # Entries at the data cap (64 Ki characters) until the batch's body is just under 1 MiB.
    name = unique("big")
    cap = 64 * 1024
    entries = [{"name": name, "data": "x" * cap} for _ in range(15)]
    room = 1024 * 1024 - len(json.dumps(entries)) - 100
    entries.append({"name": name, "data": "x" * room})
    body = json.dumps(entries).encode()
    assert 1024 * 1024 - 200 < len(body) < 1024 * 1024
    r = await http.post("/logs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert {o["outcome"] for o in r.json()["data"]} == {"stored"}
    assert logs.count_documents({"name": name}) == 16


async def test_get_logs_lists_the_newest_first_within_the_limit(http: httpx.AsyncClient) -> None:
    name = unique("list")
    for i in range(4):
        assert (await http.post("/log", json={"name": name, "data": f"n{i}"})).status_code == 202
    r = await http.get("/logs", params={"name": name, "limit": 3})
    assert r.status_code == 200
    items = r.json()["data"]
    assert [item["data"] for item in items] == ["n3", "n2", "n1"]
    first = items[0]
    assert set(first) == {"id", "name", "data", "created_at", "updated_at"}
    assert first["name"] == name
    assert re.fullmatch(r"[0-9a-f]{24}", first["id"])
    assert RFC3339_UTC.match(first["created_at"])
    assert RFC3339_UTC.match(first["updated_at"])


async def test_get_logs_without_a_name_returns_every_name_and_defaults_to_50(
    http: httpx.AsyncClient,
) -> None:
    names = [unique("any"), unique("any")]
    for name in names:
        assert (await http.post("/log", json={"name": name, "data": "d"})).status_code == 202
    items = (await http.get("/logs")).json()["data"]
    assert len(items) <= 50
    assert [item["name"] for item in items[:2]] == names[::-1]


@pytest.mark.parametrize("limit", ["0", "501", "many"])
async def test_a_limit_out_of_range_is_400_naming_limit(
    http: httpx.AsyncClient, limit: str
) -> None:
    r = await http.get("/logs", params={"limit": limit})
    assert r.status_code == 400
    assert "limit" in r.json()["message"]


async def test_ready_reports_mongodb_ok(http: httpx.AsyncClient) -> None:
    r = await http.get("/ready")
    assert (r.status_code, r.json()["data"]) == (200, {"mongodb": "ok"})


async def test_openapi_describes_both_routes_with_their_schemas(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    post = spec["paths"]["/log"]["post"]
    assert {"202", "400", "413", "503"} <= set(post["responses"])
    schemas = spec["components"]["schemas"]
    assert "LogIn" in schemas
    listing = spec["paths"]["/logs"]["get"]["responses"]["200"]["content"]["application/json"]
    envelope = schemas[listing["schema"]["$ref"].rsplit("/", 1)[1]]
    items = envelope["properties"]["data"]["anyOf"][0]["items"]
    assert items == {"$ref": "#/components/schemas/LogItem"}
    assert {p["name"] for p in spec["paths"]["/logs"]["get"]["parameters"]} == {"name", "limit"}


async def test_post_logs_stores_a_batch_and_answers_each_entry_as_post_log_would(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name, seen, again = unique("batch"), str(uuid.uuid4()), str(uuid.uuid4())
    assert (await http.post("/log", json={"name": name, "data": "x", "event_id": seen})).is_success
    batch = [
        {"name": name, "data": "one", "event_id": again},
        {"NAME": name, "Data": "two"},
        {"name": name, "data": "seen before", "event_id": seen},
        {"name": 7, "data": "a number for a name"},
        "not an object",
        {"name": name, "data": "same event twice in one batch", "event_id": again},
    ]
    r = await http.post("/logs", json=batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "6 entries: 2 stored, 2 duplicate, 2 refused"
    assert [(e["outcome"], e["status"]) for e in body["data"]] == [
        ("stored", 202),
        ("stored", 202),
        ("duplicate", 202),
        ("refused", 400),
        ("refused", 400),
        ("duplicate", 202),
    ]
    assert body["data"][3]["message"] == "name: Input should be a valid string"
    assert body["data"][4]["message"] == "the entry must be a JSON object"
    docs = sorted(logs.find({"name": name}), key=lambda d: d["data"])
    assert [d["data"] for d in docs] == ["one", "two", "x"]
    assert logs.count_documents({"event_id": again}) == 1


async def test_post_logs_refuses_a_body_that_is_not_an_array_or_too_long(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post("/logs", json={"name": "a", "data": "b"})
    assert (r.status_code, r.json()["message"]) == (400, "body: Input should be a valid list")
    r = await http.post("/logs", json=[{"name": "a", "data": "b"}] * 1001)
    assert r.status_code == 400
    assert (await http.post("/logs", json=[])).json()["message"] == "0 entries"


async def test_concurrent_writes_share_store_writes_and_each_caller_gets_its_own_answer(
    http: httpx.AsyncClient, logs: Collection[dict[str, Any]]
) -> None:
    name, event = unique("group"), str(uuid.uuid4())
    bodies = [{"name": name, "data": str(i)} for i in range(60)]
    # The same event from ten callers at once: each hears 202, one document is stored.
    bodies += [{"name": name, "data": "dup", "event_id": event}] * 10
    answers = await asyncio.gather(*(http.post("/log", json=b) for b in bodies))
    assert [a.status_code for a in answers] == [202] * 70
    assert logs.count_documents({"name": name}) == 61
    metrics = (await http.get("/metrics")).text
    sizes = re.search(r'logger_store_batch_size_count\{service="logger-service"\} (\S+)', metrics)
    total = re.search(r'logger_store_batch_size_sum\{service="logger-service"\} (\S+)', metrics)
    assert sizes is not None
    assert total is not None
    # Fewer store writes than entries: writes that met one in flight went together.
    assert float(sizes[1]) < float(total[1])
