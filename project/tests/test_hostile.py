"""The hostile-input suite: every attack of `project/hostile/scenarios.py` against one running
system, in turn; each test asserts that while its attack ran every other door answered within
1 s, nothing acknowledged was lost and the door attacked refused what it owed a refusal
(`project/hostile/outcome.py` says what is judged). `make -C project hostile` runs the same
attacks and writes `docs/reliability/hostile.md`.
"""

from collections.abc import Callable

import pytest
from devkit.system import LocalSystem
from hostile import doors, outcome, scenarios
from svckit import dsn

# The system starts once (a minute on a busy 2-core machine); each attack takes seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
async def system(local_system: Callable[..., LocalSystem]) -> LocalSystem:
    started = local_system("hostile", faults=True, env=scenarios.SYSTEM_ENV).start()
    await doors.add_user(dsn.to_uri(dsn.parse(started.env["DSN"])))
    return started


@pytest.mark.parametrize("attack", scenarios.attacks(), ids=lambda a: a.name)
async def test_no_client_freezes_a_door_or_loses_an_entry(
    system: LocalSystem, attack: scenarios.Attack
) -> None:
    result = await outcome.run(system, attack)
    assert result.problems == [], f"notes: {result.hit.notes}; launcher output: {system.log}"
