"""The fault suite: every fault injected into one running system in turn, and judged.

One system for the module (`devkit.system.LocalSystem` with `faults=True`: the launcher runs
the services; PostgreSQL and RabbitMQ are behind proxies; SecantusDB and the mail catcher are
processes of ours) serves every scenario of `project/faults/scenarios.py`, one after another;
each test runs one and asserts that it found no problem (`project/faults/outcome.py` says what
a caller may see and what must be stored). `make -C project faults` runs the same scenarios
and writes `docs/reliability/report.md` from what they measured.
"""

from collections.abc import Callable

import outcome
import pytest
import scenarios
from devkit.system import LocalSystem

# The system starts once (a minute on a busy 2-core machine); each scenario takes seconds, the
# longest (the listener killed six times while the logger hangs) about a minute.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def system(local_system: Callable[..., LocalSystem]) -> LocalSystem:
    return local_system("faults", faults=True, env=scenarios.SYSTEM_ENV).start()


@pytest.mark.parametrize("scenario", scenarios.scenarios(), ids=lambda s: s.name)
async def test_the_system_survives(
    system: LocalSystem, scenario: scenarios.Scenario, run_id: str
) -> None:
    result = await outcome.run(system, scenario, run_id)
    assert result.problems == [], f"launcher output: {system.log}"
