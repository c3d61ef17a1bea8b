"""Without MONGO_URL the logger runs its own SecantusDB, keeps data across runs, stops cleanly."""

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from svckit.testing import ServiceProcess, free_port, http_status, port_open, wait_for


def post_log(url: str, name: str) -> int:
    request = urllib.request.Request(
        url + "/log",
        data=json.dumps({"name": name, "data": "kept"}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        status: int = resp.status
        return status


def recent(url: str, name: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/logs?name={name}", timeout=10) as resp:
        items: list[dict[str, Any]] = json.load(resp)["data"]
        return items


def test_without_mongo_url_an_embedded_secantusdb_keeps_entries_across_restarts(
    tmp_path: Path, logs_dir: Path
) -> None:
    data = tmp_path / "mongo"
    svc = ServiceProcess(
        "logger_service",
        {
            "MONGO_URL": "",
            "EMBEDDED_MONGO_DATA": str(data),
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
        },
        log_dir=logs_dir,
        name="logger-embedded",
    )
    local_mongo = port_open("127.0.0.1", 27017)
    svc.start()
    try:
        wait_for(lambda: http_status(svc.url + "/ready") == 200, 20, what="ready")
        if local_mongo:
            assert "using the MongoDB that answers on 127.0.0.1:27017" in svc.output()
        else:
            assert "started an embedded SecantusDB" in svc.output()
            assert str(data) in svc.output()
        name = f"kept-{uuid.uuid4().hex[:8]}"
        assert post_log(svc.url, name) == 202

        svc.restart()
        wait_for(lambda: http_status(svc.url + "/ready") == 200, 20, what="ready again")
        assert [item["data"] for item in recent(svc.url, name)] == ["kept"]
    finally:
        code = svc.stop()
    assert code in (0, -15), svc.output()
    out = svc.output(tail=200)
    for line in ("RPC door stopped", "gRPC door stopped", "Application shutdown complete"):
        assert line in out
    if not local_mongo:
        assert any(data.iterdir()), "the embedded server wrote nothing under EMBEDDED_MONGO_DATA"
