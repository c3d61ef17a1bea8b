"""The catcher's settings (env `CATCHER_HOST`, `CATCHER_SMTP_PORT`, ...)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATCHER_", extra="ignore")

    host: str = Field(
        "127.0.0.1",
        description="the interface both ports listen on (`0.0.0.0` to reach it from elsewhere)",
    )
    smtp_port: int = Field(
        1025,
        description="SMTP (aiosmtpd; any sender, any recipient, no AUTH, no TLS, SMTPUTF8 and"
        " 8BITMIME)",
    )
    http_port: int = Field(8025, description="the API and the page")
    max_messages: int = Field(1000, ge=1, description="messages kept; beyond it the oldest go")
    max_message_size: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        description="the biggest message accepted, in bytes (larger: 552)",
    )
