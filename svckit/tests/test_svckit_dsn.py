"""PostgreSQL connection strings: both of libpq's forms parse to the same keywords."""

import pytest
from svckit import dsn


def test_quoted_values_and_escapes_follow_libpq() -> None:
    pairs = dsn.parse(r"password='it\'s a secret'  host = db user=a\ b dbname=''")
    assert pairs == {"password": "it's a secret", "host": "db", "user": "a b", "dbname": ""}


@pytest.mark.parametrize("bad", ["host", "host=db junk", "password='open"])
def test_a_malformed_keyword_dsn_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="DSN"):
        dsn.parse(bad)


def test_a_uri_and_its_keyword_twin_are_the_same_keywords() -> None:
    uri = dsn.parse("postgresql://u:p%40ss@db:6543/users?sslmode=disable&connect_timeout=5")
    words = dsn.parse(
        "host=db port=6543 user=u password=p@ss dbname=users sslmode=disable connect_timeout=5"
    )
    assert uri == words


def test_several_hosts_become_libpqs_parallel_lists() -> None:
    assert dsn.parse("postgresql://a:1,[::1]:2,c/x") == {
        "host": "a,::1,c",
        "port": "1,2,",
        "dbname": "x",
    }
    assert dsn.first_address(dsn.parse("postgresql://a:1,b:2/x")) == ("a", 1)


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("host=db port=6543 user=postgres dbname=users", ("db", 6543)),
        ("host=postgres user=postgres password='p w' sslmode=disable", ("postgres", 5432)),
        ("postgresql://postgres@10.0.0.5:5433/users_x", ("10.0.0.5", 5433)),
        ("postgresql://postgres@localhost/users", ("localhost", 5432)),
        ("dbname=users host=/var/run/postgresql", ("/var/run/postgresql", 5432)),
        ("user=postgres", ("127.0.0.1", 5432)),
    ],
)
def test_the_first_address_is_where_libpq_connects_first(
    value: str, address: tuple[str, int]
) -> None:
    assert dsn.first_address(dsn.parse(value)) == address


def test_another_database_keeps_the_form_and_the_query() -> None:
    assert (
        dsn.with_database("postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable", "u_1")
        == "postgresql://postgres@127.0.0.1:5432/u_1?sslmode=disable"
    )
    assert dsn.with_database("host=h dbname=postgres password='a b'", "u_2") == (
        "host=h dbname=u_2 password='a b'"
    )
    assert dsn.parse(dsn.with_database("postgresql://h/?dbname=x", "y"))["dbname"] == "y"
