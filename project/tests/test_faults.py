"""The fault suite: every fault injected into one running system in turn, and judged.

One system for the module (`devkit.system.LocalSystem` with `faults=True`: the launcher runs
the services; PostgreSQL and RabbitMQ are behind proxies; SecantusDB and the mail catcher are
processes of ours) serves every scenario of `project/faults/scenarios.py`, one after another;
each test runs one and asserts that it found no problem (`project/faults/outcome.py` says what
a caller may see and what must be stored). `make -C project faults` runs the same scenarios
and writes `docs/reliability/report.md` from what they measured.
"""

from collections.abc import Iterator

import outcome
import pytest
import scenarios
from devkit.system import LocalSystem

# The system starts once (a minute on a busy 2-core machine); each scenario takes seconds, the
# longest (the listener killed six times while the logger hangs) about a minute.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def system(
    run_id: str,
    postgres_dsn: str,
    mongo_database: str,
    rabbit_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalSystem]:
    system = LocalSystem(
        name="faults",
        run_id=run_id,
        postgres_dsn=postgres_dsn,
        mongo_database=mongo_database,
        rabbit_url=rabbit_url,
        work=tmp_path_factory.mktemp("fault-system"),
        faults=True,
        env=scenarios.SYSTEM_ENV,
    )
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.mark.parametrize("scenario", scenarios.scenarios(), ids=lambda s: s.name)
async def test_the_system_survives(
    system: LocalSystem, scenario: scenarios.Scenario, run_id: str
) -> None:
    result = await outcome.run(system, scenario, run_id)
    assert result.problems == [], f"launcher output: {system.log}"
