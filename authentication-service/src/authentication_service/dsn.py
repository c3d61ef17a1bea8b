"""`DSN` in either form the original's drivers took, as the arguments asyncpg connects with.

asyncpg reads URIs only, so every keyword goes into a URI's query, which asyncpg parses as
libpq does; a keyword it does not know (`timezone`) becomes a session setting, as the Go
driver made it. `connect_timeout` is ours to apply, and the database is passed on its own.
"""

import getpass
import os
from dataclasses import dataclass

from svckit import dsn


@dataclass(frozen=True)
class Target:
    """Where the service's database lives, in the terms asyncpg takes."""

    uri: str
    database: str
    connect_timeout: float | None

    @classmethod
    def from_dsn(cls, value: str) -> "Target":
        keywords = dsn.parse(value)
        if "hostaddr" in keywords:
            keywords.setdefault("host", keywords.pop("hostaddr"))
        timeout = keywords.pop("connect_timeout", None)
        database = (
            keywords.pop("dbname", "")
            or keywords.pop("database", "")
            or os.environ.get("PGDATABASE")
            or keywords.get("user")
            or os.environ.get("PGUSER")
            or getpass.getuser()
        )
        return cls(dsn.to_uri(keywords), database, float(timeout) if timeout else None)
