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
    mail_domain: str = Field(
        "localhost", description="the domain of each Message-ID, and our name in EHLO"
    )
    mail_host: str = Field(
        "127.0.0.1", description="the SMTP server (the original's compose: `mailhog`)"
    )
    mail_port: int = Field(1025, description="its port")
    mail_encryption: Encryption = Field(
        "none",
        description="`none`: plain SMTP (no upgrade even if offered); `tls`: STARTTLS, required"
        " (a server without it is an error); `ssl`: TLS from the first byte (SMTPS)."
        " Case-insensitive; empty means `none`; anything else is refused at start-up (the"
        " original silently fell back to STARTTLS)",
    )
    mail_username: str = Field("", description="SMTP AUTH user; empty: no AUTH")
    mail_password: SecretStr = Field(
        SecretStr(""),
        description="SMTP AUTH password; `MAIL_PASSWORD_FILE` reads it from a file (a Docker or"
        " Kubernetes secret)",
    )
    from_name: str = Field("John Smith", description="display name in the From header")
    from_address: Email = Field(
        "john.smith@example.com", description="the sender when a request's `from` is empty"
    )
    mail_connect_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds to reach the server: TCP, TLS, greeting, EHLO, STARTTLS, AUTH"
        " (and to get a free connection)",
    )
    mail_send_timeout: float = Field(
        10.0, gt=0, description="seconds for one message: MAIL, RCPT, DATA"
    )
    mail_ca_file: Path | None = Field(
        None,
        description="PEM file of CA certificates to trust for `tls`/`ssl` (a private CA);"
        " unset: the system's trust store. Certificates and host names are always verified",
    )
    mail_connections: int = Field(
        4,
        ge=1,
        le=64,
        description="the most SMTP connections at once, so the most messages in flight; more"
        " wait for one (within `MAIL_CONNECT_TIMEOUT`)",
    )
    mail_connection: Connection = Field(
        "pooled",
        description="`pooled`: connections are kept open and reused (see"
        " [Connections](#connections)); `per-message`: connect, send, QUIT for each message, as"
        " the original did",
    )
    mail_idle_timeout: float = Field(
        30.0,
        gt=0,
        description="seconds a kept connection may sit idle before it says QUIT (servers drop"
        " idle sessions themselves: Postfix after 300 s)",
    )
    mail_check_after: float = Field(
        2.0,
        ge=0,
        description="a kept connection idle longer than this many seconds must answer NOOP"
        " (within half of `MAIL_CONNECT_TIMEOUT`, at most 1 s) before it carries a message;"
        " `0`: before every reuse",
    )
    mail_messages_per_connection: int = Field(
        100,
        ge=1,
        description="messages one connection carries before it says QUIT and a fresh one is"
        " opened (servers cap this: Exim at 1000)",
    )
    mail_ready_cache: float = Field(
        5.0,
        ge=0,
        description="seconds a `/ready` check of the SMTP server (a session: greeting, EHLO,"
        " AUTH, NOOP, QUIT) is believed, failure or success, so probes hammering `/ready` do"
        " not hammer the server; `0`: every call checks (calls at once still share one)",
    )

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
