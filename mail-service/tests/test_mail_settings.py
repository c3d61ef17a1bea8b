"""Settings read as the original's names, refused at start-up when they cannot work."""

import pytest
from mail_service.settings import MailSettings
from pydantic import ValidationError


@pytest.mark.parametrize(("given", "meant"), [("", "none"), ("TLS", "tls"), (" ssl ", "ssl")])
def test_mail_encryption_reads_as_the_original_wrote_it(given: str, meant: str) -> None:
    assert MailSettings(mail_encryption=given).mail_encryption == meant


def test_an_unknown_encryption_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="mail_encryption"):
        MailSettings(mail_encryption="starttls")


@pytest.mark.parametrize("field", ["from_name", "mail_domain"])
def test_a_line_break_in_a_header_setting_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="line break"):
        MailSettings.model_validate({field: "x\r\nBcc: victim@example.com"})


def test_defaults_are_the_originals_with_our_local_host() -> None:
    settings = MailSettings()

    assert (settings.port, settings.mail_host, settings.mail_port) == (8083, "127.0.0.1", 1025)
    assert (settings.from_name, settings.from_address) == ("John Smith", "john.smith@example.com")
    assert (settings.mail_connect_timeout, settings.mail_send_timeout) == (10.0, 10.0)


def test_connections_are_pooled_unless_asked_per_message() -> None:
    settings = MailSettings()

    assert (settings.mail_connection, settings.mail_connections) == ("pooled", 4)
    assert MailSettings(mail_connection="per-message").mail_connection == "per-message"
    with pytest.raises(ValidationError, match="mail_connection"):
        MailSettings(mail_connection="reuse")
