"""The log store's indexes: only those its queries use (idempotency, `/logs?name=`)."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from logger_service.store import LogStore
from pymongo import DESCENDING, MongoClient

KEPT = {"_id_", "event_id_unique", "name_created_at"}


@pytest.fixture
def client(secantus_url: str) -> Iterator[MongoClient[dict[str, Any]]]:
    with MongoClient[dict[str, Any]](secantus_url) as client:
        yield client


@pytest.mark.parametrize("had_retired_index", [True, False])
async def test_the_store_keeps_only_the_indexes_its_queries_use(
    secantus_url: str, client: MongoClient[dict[str, Any]], had_retired_index: bool
) -> None:
    database = f"indexes_{uuid.uuid4().hex[:8]}"
    logs = client[database]["logs"]
    if had_retired_index:  # as an earlier version left it: no query uses it, inserts pay for it
        logs.create_index([("created_at", DESCENDING)], name="created_at")
    store = LogStore(secantus_url, database)
    try:
        await store.prepare()
        assert set(logs.index_information()) == KEPT
        # `/logs?name=` walks its index rather than every entry.
        query = logs.find({"name": "x"}).sort([("created_at", -1), ("_id", -1)]).limit(50)
        assert "name_created_at" in str(query.explain()["queryPlanner"]["winningPlan"])
    finally:
        await store.close()
        client.drop_database(database)
