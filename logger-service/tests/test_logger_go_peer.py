"""A real Go peer (net/rpc/jsonrpc from Go's standard library) against the running RPC door."""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from pymongo.collection import Collection

GOPEER = Path(__file__).parent / "gopeer"
SEQUENTIAL, PIPELINED = 5, 25


def go_env() -> dict[str, str]:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "", "CGO_ENABLED": "0"}
    home = os.environ.get("HOME", "")
    if not home or not os.access(home, os.W_OK):
        scratch = tempfile.mkdtemp(prefix="gopeer-")
        env |= {"GOCACHE": f"{scratch}/cache", "GOPATH": f"{scratch}/path"}
    return env


def test_go_client_calls_log_info_many_times_on_one_connection(
    rpc_port: int, logs: Collection[dict[str, Any]]
) -> None:
    go = shutil.which("go")
    assert go, "Go is not installed: `apt-get install golang-go` (the Go peer test needs it)"
    prefix = f"gopeer-{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [go, "run", ".", f"127.0.0.1:{rpc_port}", prefix, str(SEQUENTIAL), str(PIPELINED)],
        cwd=GOPEER,
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert run.returncode == 0, f"the Go peer failed:\n{run.stdout}\n{run.stderr}"
    assert "ok:" in run.stdout

    docs = list(logs.find({"name": {"$regex": f"^{prefix}-"}}))
    by_name = {d["name"]: d for d in docs}
    assert len(docs) == SEQUENTIAL + PIPELINED + 1
    assert by_name[f"{prefix}-seq-0"]["data"] == "sequential 0"
    assert by_name[f"{prefix}-go-{PIPELINED - 1}"]["data"] == f"pipelined {PIPELINED - 1}"
    assert all(d["created_at"] == d["updated_at"] for d in docs)
