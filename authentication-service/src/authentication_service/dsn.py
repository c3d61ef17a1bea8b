"""`DSN` in either form the original's drivers took: libpq keywords or a postgresql:// URI.

asyncpg reads URIs only, so the keyword form (`host=postgres port=5432 user=postgres
password=password dbname=users sslmode=disable timezone=UTC connect_timeout=5`) is rewritten
as a URI with the same keywords in its query, which asyncpg parses as libpq does; a keyword
it does not know (`timezone`) becomes a session setting, as the Go driver made it.
"""

import getpass
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_BARE = re.compile(r"((?:[^\s'\\]|\\.)*)")
_ESCAPE = re.compile(r"\\(.)")


def parse_keywords(dsn: str) -> dict[str, str]:
    """libpq's `key=value` list: values may be 'single-quoted', backslash escapes \\' and \\\\."""
    pairs: dict[str, str] = {}
    pos = 0
    while dsn[pos:].strip():
        key = _KEY.match(dsn, pos)
        if key is None:
            raise ValueError(f"DSN: expected key=value at {dsn[pos:].strip()[:20]!r}")
        quoted = dsn.startswith("'", key.end())
        value = (_QUOTED if quoted else _BARE).match(dsn, key.end())
        if value is None:
            raise ValueError(f"DSN: unterminated quoted value for {key.group(1)!r}")
        pairs[key.group(1)] = _ESCAPE.sub(r"\1", value.group(1))
        pos = value.end()
    return pairs


@dataclass(frozen=True)
class Target:
    """Where the service's database lives, in the terms asyncpg takes."""

    uri: str
    database: str
    connect_timeout: float | None

    @classmethod
    def from_dsn(cls, dsn: str) -> "Target":
        dsn = dsn.strip()
        if dsn.startswith(("postgresql://", "postgres://")):
            parts = urlsplit(dsn)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            user = unquote(parts.username or "") or query.get("user")
            database = query.get("dbname") or query.get("database") or unquote(parts.path[1:])
        else:
            query = parse_keywords(dsn)
            if "hostaddr" in query:
                query.setdefault("host", query.pop("hostaddr"))
            user = query.get("user")
            database = query.get("dbname", "")
            parts = urlsplit("postgresql://")
        # asyncpg would send it to the server as a session setting; it is ours to apply.
        timeout = query.pop("connect_timeout", None)
        uri = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"
        database = (
            database
            or os.environ.get("PGDATABASE")
            or user
            or os.environ.get("PGUSER")
            or getpass.getuser()
        )
        return cls(uri, database, float(timeout) if timeout else None)
