"""What the launcher decides before it starts anything: missing servers, addresses, ports."""

import os
import subprocess
import sys

import pytest
from launcher.plan import build_plan
from launcher.probes import Address, postgres_address, rabbit_address
from launcher.settings import LauncherSettings
from svckit.testing import free_port


def launch(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "launcher"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_missing_postgresql_is_one_line_naming_it_where_and_how_to_start_it() -> None:
    port = free_port()
    result = launch(DSN=f"host=127.0.0.1 port={port} user=postgres dbname=users")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"launcher: PostgreSQL does not answer on 127.0.0.1:{port} (DSN)")
    assert "pg_ctlcluster" in lines[0]
    assert "docker compose" in lines[0]
    assert "started" not in result.stdout


def test_a_missing_rabbitmq_is_one_line_and_nothing_starts() -> None:
    port = free_port()
    result = launch(RABBIT_URL=f"amqp://guest:guest@127.0.0.1:{port}/")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"launcher: RabbitMQ does not answer on 127.0.0.1:{port} (RABBIT_URL): start it with "
        "`sudo rabbitmq-server -detached` or "
        "`docker compose -f project/docker-compose.yml up -d rabbitmq`, or set RABBIT_URL."
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("dsn", "address"),
    [
        ("host=db port=6543 user=postgres dbname=users", Address("db", 6543)),
        ("host=postgres user=postgres password='p w' sslmode=disable", Address("postgres", 5432)),
        ("postgresql://postgres@10.0.0.5:5433/users_x", Address("10.0.0.5", 5433)),
        ("postgresql://postgres@localhost/users", Address("localhost", 5432)),
        ("dbname=users host=/var/run/postgresql", Address("/var/run/postgresql", 5432)),
    ],
)
def test_postgres_address_reads_both_dsn_forms(dsn: str, address: Address) -> None:
    assert postgres_address(dsn) == address


def test_a_unix_socket_address_names_the_socket_file() -> None:
    assert str(Address("/var/run/postgresql", 5432)) == "/var/run/postgresql/.s.PGSQL.5432"


def test_rabbit_address_defaults_by_scheme() -> None:
    assert rabbit_address("amqp://guest:guest@rabbit/") == Address("rabbit", 5672)
    assert rabbit_address("amqps://u:p@rabbit/vhost") == Address("rabbit", 5671)


def test_the_plan_starts_each_service_after_what_it_needs() -> None:
    plan = build_plan(LauncherSettings(), start_catcher=True, environ={})
    names = [s.name for s in plan.services]
    assert names == ["mailcatcher", "logger", "auth", "mail", "listener", "broker", "front-end"]
    for position, service in enumerate(plan.services):
        assert set(service.needs) <= set(names[:position]), service.name
    assert dict(plan.addresses) == {
        "page": "http://localhost:8082",
        "broker": "http://localhost:8080",
        "RabbitMQ console": "http://localhost:15672",
        "mail UI": "http://localhost:8025",
    }


def test_an_offset_moves_every_port_and_every_address_follows_it() -> None:
    plan = build_plan(LauncherSettings(port_offset=1000), start_catcher=True, environ={})
    env = {s.name: s.env for s in plan.services}
    assert env["logger"]["PORT"] == "9084"
    assert env["logger"]["RPC_PORT"] == "6001"
    assert env["logger"]["GRPC_PORT"] == "51001"
    assert env["mailcatcher"]["CATCHER_SMTP_PORT"] == "2025"
    assert env["mail"]["MAIL_PORT"] == "2025"
    assert env["broker"]["LOGGER_RPC_ADDR"] == "127.0.0.1:6001"
    assert env["broker"]["AUTH_URL"] == "http://127.0.0.1:9081"
    assert env["front-end"]["BROKER_URL"] == "http://localhost:9080"
    assert "http://localhost:9082" in env["broker"]["CORS_ORIGINS"].split(",")


def test_a_mail_server_that_is_set_is_used_instead_of_the_catcher() -> None:
    plan = build_plan(LauncherSettings(), start_catcher=False, environ={"MAIL_HOST": "mailhog"})
    mail = next(s for s in plan.services if s.name == "mail")
    assert "mailcatcher" not in [s.name for s in plan.services]
    assert "MAIL_HOST" not in mail.env
    assert mail.needs == ()
