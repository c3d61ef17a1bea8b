"""The log store's indexes: what each costs per insert, and what `GET /logs` gets for it.

One SecantusDB (devkit.mongo, a process of its own). For each index set, a fresh collection
with those indexes, then N inserts one at a time as a lone writer sends them (`insert_one`,
journaled, the logger's document with an `event_id`, as the listener's entries carry), and
the CPU SecantusDB spent on them from /proc (utime + stime), per insert. Then `/logs`'s own
query (`LogStore.recent`: newest first, `created_at` then `_id`, a page of 50), unfiltered and
by name, timed and explained (does an index give the order, or is every entry sorted?). Sets
are measured in turn, round after round, and each figure is the median round.

    uv run --frozen python project/bench/bench_store.py     # BENCH_QUICK=1: the smoke run
"""

import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchkit
import report
from devkit.mongo import SecantusProcess
from devkit.procfs import cpu_seconds
from logger_service.store import COLLECTION, INDEXES
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, WriteConcern

PAGE = 50  # `GET /logs`'s default page
NAMES = 10  # distinct entry names, so that one name is a tenth of the entries
SHIPPED = {index.document["name"]: index for index in INDEXES}
# Indexes we do not ship, measured to show why: the one `/logs` would walk for its order.
CANDIDATES = {
    # The one `/logs`'s order would walk (the `_id` tie-break included).
    "created_at": IndexModel([("created_at", DESCENDING)], name="created_at"),
    "created_at_id": IndexModel(
        [("created_at", DESCENDING), ("_id", DESCENDING)], name="created_at_id"
    ),
    "name_created_at": IndexModel(
        [("name", ASCENDING), ("created_at", DESCENDING)], name="name_created_at"
    ),
}
EVERY = {**CANDIDATES, **SHIPPED}
# Each index alone (its own cost), what ships, and what ships plus each index it leaves out.
SETS: dict[str, tuple[str, ...]] = {
    "none": (),
    **{name: (name,) for name in EVERY},
    "shipped (" + " + ".join(SHIPPED) + ")": tuple(SHIPPED),
    **{f"shipped + {name}": (*SHIPPED, name) for name in CANDIDATES if name not in SHIPPED},
}


def plan_of(explained: dict[str, Any]) -> str:
    """The winning plan's stages, outermost first (SORT: every matching entry sorted)."""
    stages = []
    stage: dict[str, Any] | None = explained.get("queryPlanner", {}).get("winningPlan")
    while stage:
        stages.append(
            stage.get("stage", "?") + (f" {stage['indexName']}" if "indexName" in stage else "")
        )
        stage = stage.get("inputStage")
    return " < ".join(stages)


async def one_set(
    client: AsyncMongoClient[dict[str, Any]], pid: int, indexes: tuple[str, ...], n: int
) -> dict[str, Any]:
    """N lone inserts into a fresh collection with `indexes`, then `/logs`'s query on it."""
    database = f"bench_store_{uuid.uuid4().hex[:8]}"
    logs = client[database].get_collection(COLLECTION, write_concern=WriteConcern(j=True))
    if indexes:
        await logs.create_indexes([EVERY[name] for name in indexes])
    before = cpu_seconds(pid)
    for i in range(n):
        now = datetime.now(UTC)
        await logs.insert_one(
            {
                "name": f"name-{i % NAMES}",
                "data": "x" * 64,
                "created_at": now,
                "updated_at": now,
                "event_id": uuid.uuid4().hex,
            }
        )
    insert_ms = (cpu_seconds(pid) - before) / n * 1000
    figures: dict[str, Any] = {"insert_cpu_ms": insert_ms}
    for label, name in (("all", None), ("by_name", "name-3")):
        query: dict[str, Any] = {} if name is None else {"name": name}
        cursor = logs.find(query).sort([("created_at", -1), ("_id", -1)]).limit(PAGE)
        figures[f"plan_{label}"] = plan_of(await cursor.explain())
        started = time.perf_counter()
        reads = 5
        for _ in range(reads):
            cursor = logs.find(query).sort([("created_at", -1), ("_id", -1)]).limit(PAGE)
            found = [doc async for doc in cursor]
            assert found, query
        figures[f"read_{label}_ms"] = (time.perf_counter() - started) / reads * 1000
    await client.drop_database(database)
    return figures


async def main(quick: bool) -> list[benchkit.Result]:
    n, rounds = (150, 1) if quick else (2000, 3)
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-"))
    mongo = SecantusProcess(scratch / "mongo").start(60)
    measured: dict[str, list[dict[str, Any]]] = defaultdict(list)
    try:
        assert mongo.proc is not None
        async with AsyncMongoClient[dict[str, Any]](mongo.url, tz_aware=True) as client:
            for round_no in range(1, rounds + 1):
                for label, indexes in SETS.items():
                    benchkit.progress(f"store round {round_no}: {label}, {n} inserts")
                    measured[label].append(await one_set(client, mongo.proc.pid, indexes, n))
    finally:
        mongo.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    none = statistics.median(m["insert_cpu_ms"] for m in measured["none"])
    results = []
    for label, runs in measured.items():
        cpu = statistics.median(m["insert_cpu_ms"] for m in runs)
        extra = {
            "indexes": list(SETS[label]),
            "inserts": n,
            "rounds": len(runs),
            "added_ms": cpu - none,
            **{
                key: statistics.median(m[key] for m in runs)
                for key in ("read_all_ms", "read_by_name_ms")
            },
            "plan_all": runs[-1]["plan_all"],
            "plan_by_name": runs[-1]["plan_by_name"],
        }
        results.append(
            benchkit.Result(
                f"store: SecantusDB CPU per insert, indexes {label}", cpu, "ms", extra=extra
            )
        )
    return results


if __name__ == "__main__":
    print(report.store_table(asyncio.run(main(benchkit.QUICK))))
