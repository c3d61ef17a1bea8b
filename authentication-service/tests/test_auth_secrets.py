"""The database password as a secret's file (`DB_PASSWORD_FILE`, as Docker and Kubernetes mount
it): it joins the DSN, which then holds no secret, and it shows nowhere a caller or an operator
looks: not in `/ready`, an error answer, a log line nor a repr."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from authentication_service.settings import AuthSettings
from devkit.net import free_port
from devkit.process import ServiceProcess
from svckit import dsn

SECRET = "pg-secret-5f1c9a"
ADMIN = {"email": "admin@example.com", "password": "verysecret"}


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "postgres_password"
    path.write_text(SECRET + "\n")
    return path


def test_the_files_password_replaces_the_dsns_own_and_never_shows_in_a_repr(
    password_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSN", "host=db user=postgres password=old dbname=users")
    monkeypatch.setenv("DB_PASSWORD_FILE", str(password_file))
    settings = AuthSettings()
    target = settings.target()
    assert dsn.parse(target.uri)["password"] == SECRET
    assert (target.database, dsn.parse(target.uri)["host"]) == ("users", "db")
    assert SECRET not in repr(target) + repr(settings)


def test_without_db_password_the_dsns_password_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSN", "postgresql://postgres:inline@db/users")
    assert dsn.parse(AuthSettings().target().uri)["password"] == "inline"


def test_a_service_given_its_password_as_a_file_logs_in_and_never_shows_it(
    start_service: Callable[..., ServiceProcess], auth_dsn: str, password_file: Path
) -> None:
    env = {
        "DB_PASSWORD_FILE": str(password_file),
        "DB_TIMEOUT": "1",
        "LOGGER_URL": f"http://127.0.0.1:{free_port()}",
        "LOGGER_TIMEOUT": "0.5",
        "LOG_LEVEL": "DEBUG",
    }
    # This machine's PostgreSQL trusts loopback: the login proves the DSN and the file combine.
    up = start_service("authentication_service", {**env, "DSN": auth_dsn}, name="auth-secret")
    login = httpx.post(up.url + "/authenticate", json=ADMIN, timeout=10)
    assert login.status_code == 202, login.text
    # No database there: the failures a secret could leak through.
    dead = dsn.to_keyword_form({"host": "127.0.0.1", "port": str(free_port()), "user": "u"})
    down = start_service(
        "authentication_service", {**env, "DSN": dead}, name="auth-secret-down", wait=False
    )
    down.wait_ready(30, "/ping")
    ready = httpx.get(down.url + "/ready", timeout=10)
    refused = httpx.post(down.url + "/authenticate", json=ADMIN, timeout=10)
    assert ready.status_code == 503
    assert refused.status_code in (502, 503, 504)
    for shown in (ready.text, refused.text, up.output(400), down.output(400)):
        assert SECRET not in shown
