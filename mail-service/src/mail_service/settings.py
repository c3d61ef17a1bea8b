"""The mail-service's settings, named as the Go original named them (`MAIL_HOST`, ...)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from svckit.fields import Email
from svckit.settings import ServiceSettings

Encryption = Literal["none", "tls", "ssl"]
Connection = Literal["pooled", "per-message"]


class MailSettings(ServiceSettings):
    port: int = 8083
    # The domain in each Message-ID and the name we give in EHLO.
    mail_domain: str = "localhost"
    mail_host: str = "127.0.0.1"
    mail_port: int = 1025
    # `none`: plain SMTP; `tls`: STARTTLS (required); `ssl`: TLS from the first byte.
    mail_encryption: Encryption = "none"
    mail_username: str = ""
    mail_password: SecretStr = SecretStr("")
    from_name: str = "John Smith"
    from_address: Email = "john.smith@example.com"
    # Seconds for reaching the server (TCP, greeting, EHLO, STARTTLS, AUTH), then for one send.
    mail_connect_timeout: float = Field(10.0, gt=0)
    mail_send_timeout: float = Field(10.0, gt=0)
    # A PEM file of CA certificates to trust (a private CA); unset: the system's trust store.
    mail_ca_file: Path | None = None
    # The most SMTP connections at once (so the most messages in flight); `pooled` keeps them
    # open and reuses them, `per-message` opens one per message and says QUIT (the original).
    mail_connections: int = Field(4, ge=1, le=64)
    mail_connection: Connection = "pooled"
    # A pooled connection idle this long is closed (servers drop idle sessions: Postfix after
    # 300 s); one idle more than `mail_check_after` answers NOOP before it carries a message.
    mail_idle_timeout: float = Field(30.0, gt=0)
    mail_check_after: float = Field(2.0, ge=0)
    # Messages one connection carries before it says QUIT (servers cap it: Exim at 1000).
    mail_messages_per_connection: int = Field(100, ge=1)
    # Seconds one `/ready` check of the SMTP server (a session: greeting, EHLO, AUTH, NOOP) is
    # believed, so probes hammering /ready do not hammer the server; 0: check on every call.
    mail_ready_cache: float = Field(5.0, ge=0)

    @field_validator("mail_domain", "from_name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Both end up in headers (Message-ID, From), where a line break would start a new one.
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain a line break (CR or LF)")
        return value

    @field_validator("mail_encryption", mode="before")
    @classmethod
    def _encryption_names(cls, value: object) -> object:
        # The original treated an empty MAIL_ENCRYPTION as `none`; accept any case too.
        if isinstance(value, str):
            return value.strip().lower() or "none"
        return value
