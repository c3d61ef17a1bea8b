"""PostgreSQL connection strings in both forms libpq takes: `key=value` keywords or a URI.

The original's `DSN` was the keyword form (`host=postgres port=5432 user=postgres
password=password dbname=users sslmode=disable timezone=UTC connect_timeout=5`); asyncpg reads
URIs only. Everything here turns either form into libpq's keywords and back, and into the
arguments asyncpg connects with (`Target`).
"""

import getpass
import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

URI_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PORT = 5432

_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_BARE = re.compile(r"((?:[^\s'\\]|\\.)*)")
_ESCAPE = re.compile(r"\\(.)")
_NEEDS_QUOTES = re.compile(r"[\s'\\]")


def _parse_keyword_form(dsn: str) -> dict[str, str]:
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


def _split_host_port(item: str) -> tuple[str, str]:
    """`host`, `host:port` or `[v6]:port` → (host, port); either may be empty."""
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = item.partition(":")
    return host, port


def _parse_uri(dsn: str) -> dict[str, str]:
    parts = urlsplit(dsn)
    found: dict[str, str] = {}
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        if user:
            found["user"] = unquote(user)
        if colon:
            found["password"] = unquote(password)
    # Several hosts (`h1:5432,h2:5433`) become libpq's parallel lists.
    pairs = [_split_host_port(unquote(item)) for item in hosts.split(",") if item]
    if any(host for host, _ in pairs):
        found["host"] = ",".join(host for host, _ in pairs)
    if any(port for _, port in pairs):
        found["port"] = ",".join(port for _, port in pairs)
    if parts.path.strip("/"):
        found["dbname"] = unquote(parts.path[1:])
    found.update(parse_qsl(parts.query, keep_blank_values=True))
    return found


def parse(dsn: str) -> dict[str, str]:
    """libpq's keywords (`host`, `port`, `user`, `password`, `dbname`, ...) of either form."""
    dsn = dsn.strip()
    if dsn.startswith(URI_SCHEMES):
        return _parse_uri(dsn)
    return _parse_keyword_form(dsn)


def to_uri(keywords: dict[str, str]) -> str:
    """A URI carrying every keyword in its query, which asyncpg and libpq both read."""
    return "postgresql://?" + urlencode(keywords) if keywords else "postgresql://"


def to_keyword_form(keywords: dict[str, str]) -> str:
    """`key=value ...`, quoting values libpq would otherwise split."""

    def quoted(value: str) -> str:
        if value and not _NEEDS_QUOTES.search(value):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quoted(value)}" for key, value in keywords.items())


def with_database(dsn: str, database: str) -> str:
    """The same connection string naming another database, in the form it came in."""
    dsn = dsn.strip()
    if dsn.startswith(URI_SCHEMES):
        parts = urlsplit(dsn)
        query = [
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key not in ("dbname", "database")
        ]
        return parts._replace(path="/" + quote(database, safe=""), query=urlencode(query)).geturl()
    keywords = _parse_keyword_form(dsn)
    keywords.pop("database", None)
    keywords["dbname"] = database
    return to_keyword_form(keywords)


def first_address(keywords: dict[str, str]) -> tuple[str, int]:
    """The first host and port libpq would try; a host starting with `/` is a socket directory."""
    host = (keywords.get("host") or keywords.get("hostaddr") or "127.0.0.1").split(",")[0]
    port = (keywords.get("port") or "").split(",")[0]
    return host or "127.0.0.1", int(port) if port else DEFAULT_PORT


@dataclass(frozen=True)
class Target:
    """Where a database lives, in the terms asyncpg takes: every keyword in a URI's query,
    which asyncpg parses as libpq does (a keyword it does not know, `timezone`, becomes a
    session setting, as the Go driver made it); `connect_timeout` is ours to apply, and the
    database is passed on its own."""

    # It may carry the password: never in a repr, so never in a log line or a traceback.
    uri: str = field(repr=False)
    database: str
    connect_timeout: float | None

    @classmethod
    def from_dsn(cls, value: str, password: str | None = None) -> "Target":
        """`password`, when given, replaces the DSN's own (a secret kept apart from it)."""
        keywords = parse(value)
        if password is not None:
            keywords["password"] = password
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
        return cls(to_uri(keywords), database, float(timeout) if timeout else None)
