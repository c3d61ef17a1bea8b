"""The whole benchmark, once, in quick mode: the runner, every bench and the report keep working.

Speed is not asserted here; only that every bench ran, that every figure carries its unit and
that the report (results.json, report.md, the plots) is complete and readable.
"""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "project" / "bench"
DOORS = ("HTTP", "RPC", "gRPC", "RabbitMQ")
# Whichever test runs first also waits for the whole quick run (the module's fixture); about
# two minutes on a quiet machine, the cap leaves room for a loaded one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(660)]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory, rabbit_url: str) -> tuple[Path, str]:
    """`run.py` as `make -C project bench` runs it, quick, writing into a folder of its own."""
    out = tmp_path_factory.mktemp("bench-report")
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_OUT": str(out), "RABBIT_URL": rabbit_url}
    env.pop("BENCH_DOORS", None)
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return out, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def load(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    return data


def test_every_bench_of_the_folder_ran_and_succeeded(quick_run: tuple[Path, str]) -> None:
    out, output = quick_run
    assert (out / "results.json").exists(), output
    run = load(out)
    assert {b["name"] for b in run["benches"]} == {p.stem for p in BENCH.glob("bench_*.py")}
    failed = {
        b["name"]: f"{b['status']}: {b['error'][-1500:]}"
        for b in run["benches"]
        if b["status"] != "ok"
    }
    assert not failed, failed
    assert run["quick"] is True


def test_results_json_names_the_machine_the_versions_the_date_and_every_unit(
    quick_run: tuple[Path, str],
) -> None:
    run = load(quick_run[0])
    assert run["machine"]["cores"] == os.cpu_count()
    assert run["machine"]["cpu_model"]
    assert run["machine"]["reference_loop_ms"] > 0
    assert run["versions"]["python"] == platform.python_version()
    assert {"fastapi", "uvicorn", "pymongo", "aio-pika", "grpcio"} <= run["versions"].keys()
    when = datetime.datetime.fromisoformat(run["date"])
    assert abs(datetime.datetime.now(datetime.UTC) - when) < datetime.timedelta(hours=1)
    figures = [r for b in run["benches"] for r in b["results"]]
    assert figures
    for r in figures:
        assert isinstance(r["unit"], str), r
        assert r["unit"], r
        assert r["value"] is None or isinstance(r["value"], int | float), r


def test_the_shootout_measured_every_door_at_every_level_end_to_end(
    quick_run: tuple[Path, str],
) -> None:
    run = load(quick_run[0])
    shootout = next(b for b in run["benches"] if b["name"] == "bench_shootout")
    rates = {
        (r["extra"]["door"], r["extra"]["concurrency"]): r
        for r in shootout["results"]
        if r["extra"].get("metric") == "throughput"
    }
    assert {door for door, _ in rates} == set(DOORS)
    assert {level for _, level in rates} >= {1, 32}
    for (door, level), r in rates.items():
        assert r["extra"]["accepted"] > 0, (door, level, r)
        stored = next(
            x
            for x in shootout["results"]
            if x["extra"].get("metric") == "stored_after"
            and (x["extra"]["door"], x["extra"]["concurrency"]) == (door, level)
        )
        assert stored["value"] is not None, f"{door} ×{level}: accepted entries never stored"
    processes = {r["extra"]["process"] for r in shootout["results"] if "process" in r["extra"]}
    assert {"broker", "logger", "listener", "mongo"} <= processes


def test_report_md_has_the_tables_and_the_plots_are_pngs(quick_run: tuple[Path, str]) -> None:
    out = quick_run[0]
    text = (out / "report.md").read_text()
    assert "a pure-Python loop of a million additions " in text
    assert "| door | in flight | req/s |" in text
    for door in DOORS:
        assert f"| {door} | 32 |" in text
    for png in ("shootout_throughput.png", "shootout_p99.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({png})" in text


CPU_PATHS = (
    "POST /",
    "/handle auth",
    "/handle log",
    "/handle mail",
    "/log-grpc",
    "/log-http",
    "/log-rpc",
    "/log-rabbit",
)
CPU_PROCESSES = ("broker", "logger", "auth", "mail", "listener", "SecantusDB", "catcher")


def test_cpu_per_request_is_measured_for_every_process_on_every_path(
    quick_run: tuple[Path, str],
) -> None:
    run = load(quick_run[0])
    cpu = next(b for b in run["benches"] if b["name"] == "bench_cpu")
    # A figure is null only where nothing was accepted (a login queue full at 32 in flight).
    measured = {
        (r["extra"]["path"], r["extra"]["concurrency"], r["extra"]["process"])
        for r in cpu["results"]
        if r["extra"].get("metric") == "cpu_per_request"
    }
    for path in CPU_PATHS:
        for level in (1, 32):
            for process in (*CPU_PROCESSES, "all"):
                assert (path, level, process) in measured, (path, level, process)
    # The path's own process did work for it: the broker on every path, mail on a mail.
    by = {
        (r["extra"]["path"], r["extra"]["process"]): r["value"]
        for r in cpu["results"]
        if r["extra"].get("metric") == "cpu_per_request" and r["extra"]["concurrency"] == 32
    }
    assert by["POST /", "broker"] > 0
    assert by["/handle mail", "mail"] > 0
    assert by["/log-rabbit", "listener"] > 0


def test_report_md_has_the_cpu_table_and_a_headline(quick_run: tuple[Path, str]) -> None:
    text = (quick_run[0] / "report.md").read_text()
    assert "### CPU per request per process (ms)" in text
    assert "| path | in flight | req/s | errors | all |" in text
    for path in CPU_PATHS:
        assert f"| {path} | 32 |" in text, path
    headline = [line for line in text.splitlines() if line.startswith("**Headline:**")]
    assert len(headline) == 1, headline
    assert "`/handle` log at 32 in flight" in headline[0]
