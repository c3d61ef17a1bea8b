"""The report folder of a benchmark run: `results.json`, `report.md` and the PNG plots.

`results.json` holds every figure with its unit, the machine (cores, CPU, memory, load, the
time of a reference loop), the versions of Python and the key libraries, and the date;
`report.md` the same as tables.
"""

import dataclasses
import json
import math
import os
import platform
import time
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import benchkit

# The libraries whose speed the figures depend on (absent ones are left out).
KEY_LIBRARIES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "httpx",
    "aiohttp",
    "pymongo",
    "secantusdb",
    "aio-pika",
    "aiormq",
    "grpcio",
    "protobuf",
    "asyncpg",
    "bcrypt",
    "aiosmtplib",
    "aiosmtpd",
    "matplotlib",
)

THROUGHPUT_PNG = "shootout_throughput.png"
CPU_TABLE = "CPU per request per process (ms)"
P99_PNG = "shootout_p99.png"


def reference_loop_ms() -> float:
    """The best of five timings of one pure-Python loop (a million additions), in ms.

    Two hosts that both say "2 cores (AMD EPYC)" can run Python twice as fast as each other,
    and every CPU figure moves with them; this puts a number on the host beside the figures.
    """
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def machine() -> dict[str, Any]:
    """What the figures ran on: cores, CPU model, memory, kernel, the load before the run and
    the reference loop's time."""
    cpu_model = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
            break
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model or platform.processor(),
        "memory_gib": round(mem_kib / 1024**2, 1),
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
        "reference_loop_ms": reference_loop_ms(),
    }


def versions() -> dict[str, str]:
    """Python and the installed versions of the key libraries."""
    found = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }
    for name in KEY_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def to_result(d: dict[str, Any]) -> benchkit.Result:
    """A `Result` back from its `as_dict()` form (the derived ratio and met are recomputed)."""
    fields = ("name", "value", "unit", "baseline", "goal", "goal_kind", "extra")
    return benchkit.Result(**{k: d[k] for k in fields if k in d})


def _is_shootout(r: benchkit.Result) -> bool:
    return "door" in r.extra and "concurrency" in r.extra


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.{digits}f}"


def shootout_table(results: Iterable[benchkit.Result]) -> str:
    """Door by door and level by level: rate, latency percentiles and CPU per 1000 requests."""
    rows: dict[tuple[str, int], dict[str, benchkit.Result]] = defaultdict(dict)
    processes: list[str] = []
    for r in results:
        if not _is_shootout(r):
            continue
        key = r.extra["metric"] if r.extra["metric"] != "cpu" else f"cpu:{r.extra['process']}"
        rows[(r.extra["door"], r.extra["concurrency"])][key] = r
        if r.extra["metric"] == "cpu" and r.extra["process"] not in processes:
            processes.append(r.extra["process"])
    cpu_cols = [f"CPU s/1k {p}" for p in processes]
    head = ["door", "in flight", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "stored s"]
    head += ["CPU s/1k system", *cpu_cols]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for (door, level), figures in rows.items():
        rate = figures.get("throughput")
        cells = [
            door,
            str(level),
            _fmt(rate.value if rate else None),
            *(_fmt(figures[m].value if m in figures else None, 2) for m in ("p50", "p95", "p99")),
            str(rate.extra.get("errors", "")) if rate else "",
            _fmt(figures["stored_after"].value if "stored_after" in figures else None, 2),
            _fmt(figures["cpu_system"].value if "cpu_system" in figures else None, 2),
            *(
                _fmt(figures[f"cpu:{p}"].value if f"cpu:{p}" in figures else None, 3)
                for p in processes
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _is_cpu(r: benchkit.Result) -> bool:
    """A figure of bench_cpu's table: a path's rate, or a process's CPU per request on it."""
    metric = r.extra.get("metric")
    return (
        "path" in r.extra and "door" not in r.extra and metric in ("throughput", "cpu_per_request")
    )


def cpu_table(results: list[benchkit.Result]) -> str:
    """Path by path and level by level: req/s, then CPU ms per request of each process."""
    rows: dict[tuple[str, int], dict[str, benchkit.Result]] = {}
    processes: list[str] = []
    for r in filter(_is_cpu, results):
        key = r.extra.get("process", "req/s")
        rows.setdefault((r.extra["path"], r.extra["concurrency"]), {})[key] = r
        if key not in ("req/s", "all") and key not in processes:
            processes.append(key)
    head = ["path", "in flight", "req/s", "errors", "all", *processes]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for (path, level), figures in rows.items():
        rate = figures.get("req/s")
        cells = [path, str(level), _fmt(rate.value if rate else None, 0)]
        cells.append(str(rate.extra.get("errors", "")) if rate else "")
        for key in head[4:]:
            figure = figures.get(key)
            cells.append(_fmt(figure.value if figure else None, 3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(results: list[benchkit.Result]) -> str | None:
    """One line: CPU per `/handle` log at 32 in flight, all of it and the broker's and logger's."""
    found = {
        r.extra.get("process", "req/s"): r.value
        for r in filter(_is_cpu, results)
        if r.extra["path"] == "/handle log" and r.extra["concurrency"] == 32
    }
    if not {"req/s", "all", "broker", "logger"} <= found.keys():
        return None
    return (
        f"`/handle` log at 32 in flight: {found['req/s']:,.0f} req/s, {found['all']:.2f} ms of "
        f"CPU per request in all (broker {found['broker']:.2f}, logger {found['logger']:.2f}, "
        f"SecantusDB {found.get('SecantusDB', float('nan')):.2f})"
    )


def _is_store(r: benchkit.Result) -> bool:
    """A figure of bench_store's: an index set's insert cost and `/logs`'s plans on it."""
    return "plan_all" in r.extra


def store_table(results: list[benchkit.Result]) -> str:
    """Index set by index set: CPU per insert, over none, and `/logs`'s reads and plans."""
    lines = [
        "| indexes | CPU ms per insert | over none | /logs ms | /logs?name= ms | /logs plan "
        "| /logs?name= plan |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in filter(_is_store, results):
        e = r.extra
        label = r.name.rsplit("indexes ", 1)[1]
        lines.append(
            f"| {label} | {r.value:.3f} | {e['added_ms']:+.3f} | {e['read_all_ms']:.1f} | "
            f"{e['read_by_name_ms']:.1f} | {e['plan_all']} | {e['plan_by_name']} |"
        )
    return "\n".join(lines)


def plot_shootout(results: list[benchkit.Result], out: Path) -> list[Path]:
    """Throughput and p99 against the number in flight, one line per door."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for metric, filename, ylabel, title, yscale in (
        ("throughput", THROUGHPUT_PNG, "requests per second", "Throughput by door", "linear"),
        ("p99", P99_PNG, "p99 latency (ms, log scale)", "p99 latency by door", "log"),
    ):
        series: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for r in results:
            if _is_shootout(r) and r.extra["metric"] == metric:
                series[r.extra["door"]].append((r.extra["concurrency"], r.value))
        if not series:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        for door, points in series.items():
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=door)
        ax.set_xscale("log", base=2)
        levels = sorted({p[0] for points in series.values() for p in points})
        ax.set_xticks(levels, [str(x) for x in levels])
        ax.set_yscale(yscale)
        if yscale == "linear":
            ax.set_ylim(bottom=0)
        ax.set_xlabel("requests in flight")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} (broker → logger, end to end)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out / filename
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def named(bench: str, r: benchkit.Result) -> benchkit.Result:
    """The figure with its bench's part in front, unless its name already starts with it."""
    part = bench.removeprefix("bench_").replace("_", "-")
    return r if r.name.startswith(part) else dataclasses.replace(r, name=f"{part}: {r.name}")


def markdown(run: dict[str, Any], plots: list[Path]) -> str:
    """`report.md`: the machine, the figures against their floors, each bench's tables."""
    m, v = run["machine"], run["versions"]
    mode = "quick (BENCH_QUICK=1)" if run["quick"] else "full"
    lines = [
        "# Benchmark report",
        "",
        f"- date: {run['date']} ({mode}, {run['seconds']:.0f} s)",
        f"- machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"{m['platform']}; load average before the run {m['load_average'][0]:.2f}; "
        f"a pure-Python loop of a million additions {m['reference_loop_ms']} ms",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
    ]
    everything = [to_result(d) for b in run["benches"] for d in b["results"]]
    if (line := headline(everything)) is not None:
        lines += [f"**Headline:** {line}", ""]
    failed = [b for b in run["benches"] if b["status"] != "ok"]
    if failed:
        lines += ["## Benches that failed", ""]
        for b in failed:
            lines += [f"- `{b['name']}`: {b['status']} after {b['seconds']:.0f} s", ""]
            lines += ["  ```", *("  " + x for x in b["error"].splitlines()[-15:]), "  ```", ""]
    all_results = [(b["name"], to_result(d)) for b in run["benches"] for d in b["results"]]
    floors = [
        named(bench, r) for bench, r in all_results if r.baseline is not None or r.goal is not None
    ]
    if floors:
        lines += ["## Against the floor and the goal", "", benchkit.table(floors), ""]
    for b in run["benches"]:
        results = [to_result(d) for d in b["results"]]
        if not results:
            continue
        lines += [f"## {b['name']}", ""]
        shoot = [r for r in results if _is_shootout(r)]
        cpu = [r for r in results if _is_cpu(r)]
        store = [r for r in results if _is_store(r)]
        rest = [r for r in results if not (_is_shootout(r) or _is_cpu(r) or _is_store(r))]
        if shoot:
            lines += [shootout_table(shoot), ""]
        if cpu:
            lines += [f"### {CPU_TABLE}", "", cpu_table(cpu), ""]
        if store:
            lines += [store_table(store), ""]
        if rest:
            lines += [benchkit.table(rest), ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """NaN and infinities become null: strict JSON parsers refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write(out: Path, run: dict[str, Any]) -> str:
    """Write the folder; answers the Markdown (to print)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(_finite(run), indent=2, allow_nan=False) + "\n")
    shoot = [to_result(d) for b in run["benches"] for d in b["results"]]
    plots = plot_shootout([r for r in shoot if _is_shootout(r)], out)
    text = markdown(run, plots)
    (out / "report.md").write_text(text)
    return text
