"""What the launcher decides before it starts anything (missing servers, addresses, ports), and
a first start that fails."""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from devkit.net import free_port
from devkit.system import LocalSystem
from launcher.plan import build_plan
from launcher.probes import Address, postgres_address, rabbit_address
from launcher.settings import LauncherSettings


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


def test_postgres_address_is_where_libpq_connects_first() -> None:
    assert postgres_address("dbname=users host=/var/run/postgresql") == Address(
        "/var/run/postgresql", 5432
    )
    assert postgres_address("postgresql://postgres@10.0.0.5:5433/x") == Address("10.0.0.5", 5433)


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
        "lab controls": "the page's Lab panel (API http://127.0.0.1:8086)",
    }


def test_lab_controls_send_every_service_through_the_proxies_and_off_leave_no_trace() -> None:
    through = {"DSN": "host=127.0.0.1 port=40001", "RABBIT_URL": "amqp://127.0.0.1:40002/"}
    plan = build_plan(LauncherSettings(), start_catcher=False, environ={}, through=through)
    for service in plan.services:
        assert through.items() <= service.env.items(), service.name
    front_end = next(s for s in plan.services if s.name == "front-end")
    assert front_end.env["LAB_URL"] == "http://localhost:8086"

    plan = build_plan(LauncherSettings(lab=False), start_catcher=False, environ={})
    front_end = next(s for s in plan.services if s.name == "front-end")
    assert "LAB_URL" not in front_end.env
    assert "lab controls" not in dict(plan.addresses)


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
    assert env["front-end"]["LAB_URL"] == "http://localhost:9086"
    assert "http://localhost:9082" in env["broker"]["CORS_ORIGINS"].split(",")


def test_without_a_mongodb_secantusdb_runs_first_as_a_process_the_logger_connects_to(
    tmp_path: Path,
) -> None:
    settings = LauncherSettings(data_dir=tmp_path, mongo_port=free_port())
    plan = build_plan(settings, start_catcher=False, start_mongo=True, environ={})
    mongo, logger = plan.services[0], next(s for s in plan.services if s.name == "logger")
    assert mongo.name == "mongo"
    assert mongo.argv[1:3] == ["-m", "secantus"]
    assert str(tmp_path / "mongo") in mongo.argv
    assert mongo.ready_url == f"tcp://127.0.0.1:{settings.mongo_port}"
    assert logger.needs == ("mongo",)
    assert logger.env["MONGO_URL"] == (
        f"mongodb://127.0.0.1:{settings.mongo_port}/?directConnection=true"
    )


def test_a_mongo_url_that_is_set_is_passed_on_and_nothing_is_started() -> None:
    plan = build_plan(
        LauncherSettings(), start_catcher=False, environ={"MONGO_URL": "mongodb://db:27017"}
    )
    logger = next(s for s in plan.services if s.name == "logger")
    assert "mongo" not in [s.name for s in plan.services]
    assert logger.env["MONGO_URL"] == "mongodb://db:27017"
    assert logger.needs == ()


def test_a_mail_server_that_is_set_is_used_instead_of_the_catcher() -> None:
    plan = build_plan(LauncherSettings(), start_catcher=False, environ={"MAIL_HOST": "mailhog"})
    mail = next(s for s in plan.services if s.name == "mail")
    assert "mailcatcher" not in [s.name for s in plan.services]
    assert "MAIL_HOST" not in mail.env
    assert mail.needs == ()


@pytest.mark.slow
def test_a_service_not_ready_in_time_fails_the_run_with_one_line_and_exit_1(
    local_system: Callable[..., LocalSystem],
) -> None:
    # A MongoDB nobody runs: the logger answers /ready 503 until the launcher gives up on it;
    # the time limit leaves the mail catcher time to start on a busy machine.
    nowhere = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    system = local_system("strict", env={"MONGO_URL": nowhere, "LAUNCHER_READY_TIMEOUT": "20"})
    with pytest.raises(AssertionError, match="the launcher exited with 1"):
        system.start(timeout=90)
    failures = re.findall(r"\| cannot start the system: (.*)$", system.output(), re.M)
    assert len(failures) == 1, system.output()
    assert re.fullmatch(r"logger was not ready within 20 s \(http://\S+/ready: .*\)", failures[0])
    assert "| everything stopped" in system.output()
    assert "started auth" not in system.output()


def test_with_prometheus_installed_it_scrapes_every_service_under_its_compose_name(
    tmp_path: Path,
) -> None:
    settings = LauncherSettings(data_dir=tmp_path, port_offset=1000)
    plan = build_plan(settings, start_catcher=True, prometheus="/usr/bin/prometheus", environ={})
    service = next(s for s in plan.services if s.name == "prometheus")
    assert service.needs == ()
    assert service.ready_url == "http://127.0.0.1:10090/-/ready"
    config = (tmp_path / "prometheus" / "prometheus.yml").read_text()
    for job, port in (
        ("broker-service", 9080),
        ("mailer-service", 9083),
        ("listener-service", 9085),
    ):
        assert f"job_name: {job}" in config
        assert f'"127.0.0.1:{port}"' in config
    assert "rabbitmq" not in config
    assert ("Prometheus", "http://localhost:10090") in plan.addresses
    # Prometheus' own checker accepts what the launcher writes.
    promtool = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr


def test_without_prometheus_the_plan_has_none() -> None:
    plan = build_plan(LauncherSettings(), start_catcher=True, environ={})
    assert "prometheus" not in [s.name for s in plan.services]
    assert "Prometheus" not in dict(plan.addresses)
