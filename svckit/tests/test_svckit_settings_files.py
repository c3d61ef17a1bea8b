"""Every setting may come from a file (`X_FILE`, how Docker and Kubernetes hand over secrets):
the file wins over `X`, its trailing newline is dropped, and its content is never shown."""

from pathlib import Path

import pytest
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsError
from svckit.settings import ServiceSettings

SECRET = "s3cr3t-\u00e9-value"


class Example(ServiceSettings):
    password: SecretStr = Field(SecretStr(""))
    limit: int = Field(1)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(SECRET + "\n")
    return path


def test_a_file_named_by_x_file_gives_x_without_its_trailing_newline(
    secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD_FILE", str(secret_file))
    assert Example().password.get_secret_value() == SECRET


def test_the_file_wins_over_the_plain_variable_and_the_variable_serves_without_it(
    secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD", "from-env")
    assert Example().password.get_secret_value() == "from-env"
    monkeypatch.setenv("password_file", str(secret_file))  # names are case-insensitive
    assert Example().password.get_secret_value() == SECRET


def test_only_trailing_line_ends_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p"
    path.write_bytes(b" two\nlines \r\n")
    monkeypatch.setenv("PASSWORD_FILE", str(path))
    assert Example().password.get_secret_value() == " two\nlines "


def test_any_setting_may_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "limit").write_text("7\n")
    monkeypatch.setenv("LIMIT_FILE", str(tmp_path / "limit"))
    assert Example().limit == 7


def test_a_missing_file_names_the_variable_and_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match=r"PASSWORD_FILE=.*absent: cannot read it"):
        Example()


def test_a_refused_value_from_a_file_is_named_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "limit").write_text(SECRET)
    monkeypatch.setenv("LIMIT_FILE", str(tmp_path / "limit"))
    with pytest.raises(ValidationError) as refused:
        Example()
    assert "limit" in str(refused.value)
    assert SECRET not in str(refused.value)
    assert SECRET not in repr(refused.value)


def test_a_secret_read_from_a_file_never_shows_in_the_settings_repr_or_dump(
    secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD_FILE", str(secret_file))
    settings = Example()
    assert SECRET not in repr(settings)
    assert SECRET not in settings.model_dump_json()
