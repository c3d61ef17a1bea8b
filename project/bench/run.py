"""Run every benchmark of this folder and write the report (`make -C project bench`).

Each `bench_*.py` runs in its own process with a time limit, so one that fails or hangs is
recorded in the report and the others still run. The report folder is `BENCH_OUT`
(default `project/bench/report/`); `BENCH_QUICK=1` is the smoke run (under two minutes,
two benches at a time).

    uv run --frozen python project/bench/run.py [bench_shootout bench_logger ...]
"""

import argparse
import asyncio
import datetime
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import benchkit
import report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Seconds one bench may take before it is stopped and recorded as timed out.
LIMIT = float(os.environ.get("BENCH_TIMEOUT", "120" if benchkit.QUICK else "1200"))
# Benches run at once: the quick smoke run overlaps two (its figures only prove the code runs;
# start-up dominates it); a full run measures one at a time on an otherwise quiet machine.
PARALLEL = int(os.environ.get("BENCH_PARALLEL", "2" if benchkit.QUICK else "1"))
# What the per-service benches expect to find running (they start everything else).
SERVERS = {"PostgreSQL": ("127.0.0.1", 5432), "RabbitMQ": ("127.0.0.1", 5672)}


def discover(only: list[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {name.removesuffix(".py") for name in only}
        found = [p for p in found if p.stem in wanted]
    return found


def run_child(path: Path, results_file: Path) -> None:
    """In the child process: run one bench's `main(quick)` and write its results as JSON."""
    # A time-out's SIGTERM unwinds the bench like Ctrl-C, so its clean-up (`finally`) runs.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results: list[benchkit.Result] = asyncio.run(module.main(benchkit.QUICK))
    results_file.write_text(json.dumps([r.as_dict() for r in results]))


def run_bench(path: Path) -> dict[str, Any]:
    """One bench in its own process group (so its services go down with it on a time-out)."""
    benchkit.progress(f"{path.stem}: starting (limit {LIMIT:g} s)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        results_file = Path(tmp) / "results.json"
        stderr_file = Path(tmp) / "stderr.txt"
        with stderr_file.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", str(path), str(results_file)],
                cwd=ROOT,
                stderr=stderr,
                start_new_session=True,
            )
            status = "ok"
            try:
                proc.wait(LIMIT)
            except subprocess.TimeoutExpired:
                status = "timeout"
                stop_group(proc)
        seconds = time.monotonic() - started
        errors = stderr_file.read_text(errors="replace")
        if status == "ok" and (proc.returncode != 0 or not results_file.exists()):
            status = f"failed (exit {proc.returncode})"
        results = json.loads(results_file.read_text()) if status == "ok" else []
    sys.stderr.write(errors[-4000:] if status != "ok" else "")
    benchkit.progress(f"{path.stem}: {status}, {len(results)} figures in {seconds:.1f} s")
    return {
        "name": path.stem,
        "status": status,
        "seconds": seconds,
        "error": "" if status == "ok" else why(status, errors),
        "results": results,
    }


def why(status: str, errors: str) -> str:
    """What the report says about a bench that did not finish: the end of its error output."""
    tail = errors[-4000:]
    if status == "timeout":
        # The traceback of the SIGTERM that stopped it says nothing; what came before might.
        if tail.rstrip().endswith("KeyboardInterrupt"):
            tail = tail.rsplit("Traceback (most recent call last):", 1)[0]
        said = f"; before that it wrote:\n{tail[-2000:]}" if tail.strip() else ""
        return f"stopped after {LIMIT:g} s (BENCH_TIMEOUT){said}"
    return tail or "it exited without a word on stderr"


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the bench and every service it started; SIGKILL what outlives the grace."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def preflight() -> None:
    from devkit.net import answers

    for name, (host, port) in SERVERS.items():
        if not answers(host, port):
            benchkit.progress(
                f"{name} does not answer on {host}:{port}: the benches that need it will fail "
                "(start it, then run again)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", help="bench module names (default: all)")
    parser.add_argument("--child", nargs=2, metavar=("BENCH", "RESULTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(Path(args.child[0]), Path(args.child[1]))
        return 0
    out = Path(os.environ.get("BENCH_OUT", HERE / "report"))
    benches = discover(args.benches)
    mode = "quick" if benchkit.QUICK else "full"
    benchkit.progress(f"{len(benches)} benches, {mode} mode, report in {out}")
    preflight()
    started = time.monotonic()
    run: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": benchkit.QUICK,
        "machine": report.machine(),
        "versions": report.versions(),
        "benches": list(ThreadPoolExecutor(PARALLEL).map(run_bench, benches)),
    }
    run["seconds"] = time.monotonic() - started
    text = report.write(out, run)
    print(text, flush=True)
    benchkit.progress(f"report written to {out} in {run['seconds']:.0f} s")
    return 0 if all(b["status"] == "ok" for b in run["benches"]) else 1


if __name__ == "__main__":
    sys.exit(main())
