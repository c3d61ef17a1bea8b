"""`make -C project hostile`: the whole system started, every attack of the suite run against
it in turn, and `docs/reliability/hostile.md` written from what they measured (the same
attack code the tests assert on).

    uv run --frozen python project/hostile/run_hostile.py [-k WORD] [--out FILE]

It needs what the tests need: PostgreSQL on 127.0.0.1:5432 and RabbitMQ on 127.0.0.1:5672
(`TEST_PG_DSN`, `TEST_RABBIT_URL`). It uses a database, a Mongo database and RabbitMQ names of
its own and removes them afterwards.
"""

import sys
from pathlib import Path

# Run as a script, the suite's package is found next to this file's directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import time

from devkit.suite import run_suite
from devkit.system import LocalSystem
from svckit import dsn

from hostile import doors, outcome, report, scenarios

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "reliability" / "hostile.md"


def progress(text: str) -> None:
    print(f"hostile: {text}", file=sys.stderr, flush=True)


async def run_all(system: LocalSystem, chosen: list[scenarios.Attack]) -> list[outcome.Outcome]:
    await doors.add_user(dsn.to_uri(dsn.parse(system.env["DSN"])))
    outcomes = []
    for attack in chosen:
        began = time.monotonic()
        progress(f"{attack.name}: running")
        result = await outcome.run(system, attack)
        verdict = "pass" if not result.problems else "FAIL"
        progress(f"{attack.name}: {verdict} ({time.monotonic() - began:.0f} s)")
        for problem in result.problems:
            progress(f"  {problem}")
        outcomes.append(result)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("-k", dest="word", help="only the attacks whose name has this word")
    parser.add_argument("--out", type=Path, default=REPORT, help="the report's path")
    args = parser.parse_args()
    chosen = [
        a for a in scenarios.attacks() if args.word is None or args.word.lower() in a.name.lower()
    ]
    progress(f"{len(chosen)} attacks")
    began = time.monotonic()
    outcomes = run_suite(
        "hostile", scenarios.SYSTEM_ENV, progress, lambda system, _: run_all(system, chosen)
    )
    if outcomes is None:
        return 1
    report.write(args.out, outcomes, took=time.monotonic() - began)
    progress(f"wrote {args.out}")
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
