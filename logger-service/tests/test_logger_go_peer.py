"""Real Go peers (Go's standard library net/rpc) against the running RPC door, both codecs.

`gopeer/client` calls RPCServer.LogInfo with gob (`rpc.Dial`, as the original broker did),
then with `net/rpc/jsonrpc`, on the same port, and checks every reply and error text against
the ones Go's server gives; the same client is run against `gopeer/logger`, the original
logger's door in Go, so those expectations are Go's own and not our reading of them.
"""

import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from devkit.golang import GoServer
from devkit.wait import wait_for
from pymongo.collection import Collection

GOPEER = Path(__file__).parent / "gopeer"
SEQUENTIAL, PIPELINED = 5, 25
# Per codec: the sequential and pipelined calls and the one after the error replies; with gob,
# two calls whose argument has other fields besides Name and Data, in another order.
STORED = {"gob": SEQUENTIAL + PIPELINED + 1 + 2, "jsonrpc": SEQUENTIAL + PIPELINED + 1}


@pytest.fixture(scope="session")
def go_client(go_program: Callable[[Path, str], Path]) -> Path:
    return go_program(GOPEER, "client")


@pytest.fixture(scope="session")
def go_logger(go_program: Callable[[Path, str], Path]) -> Iterator[GoServer]:
    server = GoServer(go_program(GOPEER, "logger")).start()
    yield server
    server.stop()


def run_client(client: Path, addr: str, prefix: str, codecs: str) -> str:
    run = subprocess.run(
        [str(client), addr, prefix, str(SEQUENTIAL), str(PIPELINED), codecs],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, f"the Go client failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def test_go_gob_then_jsonrpc_clients_share_the_port_and_every_call_is_stored(
    go_client: Path, rpc_port: int, logs: Collection[dict[str, Any]]
) -> None:
    prefix = f"gopeer-{uuid.uuid4().hex[:8]}"
    started = datetime.now(UTC)
    out = run_client(go_client, f"127.0.0.1:{rpc_port}", prefix, "gob,jsonrpc")
    assert "ok gob:" in out
    assert "ok jsonrpc:" in out

    for codec, count in STORED.items():
        docs = list(logs.find({"name": {"$regex": f"^{prefix}-{codec}-"}}))
        by_name = {d["name"]: d for d in docs}
        assert len(docs) == count, (codec, sorted(by_name))
        assert by_name[f"{prefix}-{codec}-seq-0"]["data"] == "sequential 0"
        last = f"{prefix}-{codec}-go-{PIPELINED - 1}"
        assert by_name[last]["data"] == f"pipelined {PIPELINED - 1}"
        for doc in docs:
            assert doc["created_at"] == doc["updated_at"]
            assert started - timedelta(seconds=1) <= doc["created_at"] <= datetime.now(UTC)
    assert logs.find_one({"name": f"{prefix}-gob-reordered-0"})["data"] == "reordered"  # type: ignore[index]


def test_the_go_client_gets_the_same_answers_from_the_original_go_door(
    go_client: Path, go_logger: GoServer
) -> None:
    prefix = f"original-{uuid.uuid4().hex[:8]}"
    assert "ok gob:" in run_client(go_client, go_logger.addr, prefix, "gob")
    # The server prints each call as it answers it: its last lines may come after the client
    # has its answers.
    wanted = {f"{prefix}-gob-reordered-1", f"{prefix}-gob-after-error"}
    wait_for(
        lambda: wanted <= {r["name"] for r in go_logger.received},
        what=f"the original Go door to print {sorted(wanted)}",
    )
