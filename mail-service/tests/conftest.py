"""The fixtures live in `mail_fixtures.py`: a name of its own, so that one mypy run can check
every service's tests (each `conftest.py` would be the same module to it)."""

from mail_fixtures import *  # noqa: F403
