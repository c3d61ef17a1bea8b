"""The fixtures live in `broker_fixtures.py`: a name of its own, so that one mypy run can check
every service's tests (each `conftest.py` would be the same module to it)."""

from broker_fixtures import *  # noqa: F403
