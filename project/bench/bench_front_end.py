"""The front-end: how fast it serves its page (a rendered template) and its script (a static file).

The front-end runs as a real process on a free port; an httpx closed loop asks for `/` and
`/static/app.js` at 8 requests in flight. Figures: requests per second and latency p50/p99.
"""

import asyncio
import tempfile
from pathlib import Path

import benchkit
import httpx
from devkit.process import ServiceProcess

PATHS = {"page": "/", "script": "/static/app.js"}
CONCURRENCY = 8


async def main(quick: bool) -> list[benchkit.Result]:
    seconds = 2.0 if quick else 10.0
    svc = ServiceProcess(
        "front_end",
        {"BROKER_URL": "http://localhost:8080", "LOG_LEVEL": "WARNING"},
        log_dir=Path(tempfile.mkdtemp(prefix="bench-front-end-")),
        name="front-end",
    )
    svc.start()
    results: list[benchkit.Result] = []
    try:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=svc.url, limits=limits, trust_env=False) as http:
            for what, path in PATHS.items():

                async def get(path: str = path) -> None:
                    (await http.get(path)).raise_for_status()

                benchkit.progress(f"front-end {what} ({path}) for {seconds:g} s")
                load = await benchkit.closed_loop(get, CONCURRENCY, seconds)
                extra = {"errors": load.errors, "concurrency": CONCURRENCY}
                results += [
                    benchkit.Result(f"front-end {what} rate", load.rate, "req/s", extra=extra),
                    benchkit.Result(f"front-end {what} p50", load.percentile(50) * 1000, "ms"),
                    benchkit.Result(f"front-end {what} p99", load.percentile(99) * 1000, "ms"),
                ]
    finally:
        svc.stop()
    return results


if __name__ == "__main__":
    print(benchkit.table(asyncio.run(main(benchkit.QUICK))))
