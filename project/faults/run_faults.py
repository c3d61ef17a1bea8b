"""`make -C project faults`: the whole system started with its faults at hand, every scenario
of the suite run against it in turn, and `docs/reliability/report.md` written from what they
measured (the same scenario code the tests assert on).

    uv run --frozen python project/faults/run_faults.py [-k WORD] [--out FILE]

It needs what the tests need: PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672
(`TEST_PG_DSN`, `TEST_RABBIT_URL`). It uses a database, a Mongo database and RabbitMQ names of
its own and removes them afterwards.
"""

import argparse
import sys
import time
from pathlib import Path

import outcome
import reliability_report
import scenarios
from devkit.suite import run_suite
from devkit.system import LocalSystem

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "reliability" / "report.md"


def progress(text: str) -> None:
    print(f"faults: {text}", file=sys.stderr, flush=True)


async def run_all(
    system: LocalSystem, chosen: list[scenarios.Scenario], run_id: str
) -> list[outcome.Outcome]:
    outcomes = []
    for scenario in chosen:
        began = time.monotonic()
        progress(f"{scenario.name}: running")
        result = await outcome.run(system, scenario, run_id)
        verdict = "ok" if not result.problems else f"{len(result.problems)} problems"
        progress(f"{scenario.name}: {verdict} ({time.monotonic() - began:.0f} s)")
        for problem in result.problems[:10]:
            progress(f"  {problem}")
        outcomes.append(result)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="word", help="only the scenarios whose name has this word")
    parser.add_argument("--out", type=Path, default=REPORT, help="the report's path")
    args = parser.parse_args()
    chosen = [
        s for s in scenarios.scenarios() if args.word is None or args.word.lower() in s.name.lower()
    ]
    progress(f"{len(chosen)} scenarios")
    began = time.monotonic()
    outcomes = run_suite(
        "faults",
        scenarios.SYSTEM_ENV,
        progress,
        lambda system, run_id: run_all(system, chosen, run_id),
    )
    if outcomes is None:
        return 1
    reliability_report.write(args.out, outcomes, took=time.monotonic() - began)
    progress(f"wrote {args.out}")
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
