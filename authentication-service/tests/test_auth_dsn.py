"""`DSN` in the original's libpq keyword form and as a URI both reach the same database."""

from svckit import dsn
from svckit.dsn import Target

GO_DSN = (
    "host=postgres port=5432 user=postgres password=password dbname=users "
    "sslmode=disable timezone=UTC connect_timeout=5"
)


def test_the_originals_keyword_dsn_becomes_a_uri_asyncpg_reads() -> None:
    target = Target.from_dsn(GO_DSN)
    assert target.database == "users"
    assert target.connect_timeout == 5.0
    # timezone rides along as a session setting; connect_timeout is ours, not the server's.
    assert target.uri == (
        "postgresql://?host=postgres&port=5432&user=postgres&password=password"
        "&sslmode=disable&timezone=UTC"
    )


def test_a_uri_keeps_its_parts_and_names_its_database() -> None:
    target = Target.from_dsn("postgresql://postgres:p%40ss@db:5433/users_x?connect_timeout=3")
    assert (target.database, target.connect_timeout) == ("users_x", 3.0)
    assert dsn.parse(target.uri) == {
        "host": "db",
        "port": "5433",
        "user": "postgres",
        "password": "p@ss",
    }


def test_without_a_database_name_libpq_uses_the_user_name() -> None:
    assert Target.from_dsn("host=h user=alice").database == "alice"
    assert Target.from_dsn("postgres://bob@h/").database == "bob"
