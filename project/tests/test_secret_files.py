"""Each credential the deployments hand over as a secret's file (swarm.yml's Docker secrets,
project/k8s' Secrets) reaches its service by the `*_FILE` name they use, and is held as a
secret (never in a repr)."""

from pathlib import Path

import pytest
from authentication_service.settings import AuthSettings
from logger_service.settings import LoggerSettings
from mail_service.settings import MailSettings
from pydantic import SecretStr
from svckit.settings import ServiceSettings

SECRET = "file-secret-83b1"
CREDENTIALS: list[tuple[type[ServiceSettings], str, str]] = [
    (AuthSettings, "DB_PASSWORD_FILE", "db_password"),
    (LoggerSettings, "MONGO_PASSWORD_FILE", "mongo_password"),
    (MailSettings, "MAIL_PASSWORD_FILE", "mail_password"),
]


@pytest.mark.parametrize(("settings_class", "variable", "field"), CREDENTIALS)
def test_each_credential_is_read_from_its_file_and_held_as_a_secret(
    settings_class: type[ServiceSettings],
    variable: str,
    field: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n")
    monkeypatch.setenv(variable, str(tmp_path / "secret"))
    settings = settings_class()
    value = getattr(settings, field)
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
