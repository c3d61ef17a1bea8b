"""The catcher's settings (env `CATCHER_HOST`, `CATCHER_SMTP_PORT`, ...)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATCHER_", extra="ignore")

    host: str = "127.0.0.1"
    smtp_port: int = 1025
    http_port: int = 8025
    # The most messages kept; the oldest go first.
    max_messages: int = Field(1000, ge=1)
    # The biggest message the SMTP server takes, in bytes.
    max_message_size: int = Field(10 * 1024 * 1024, ge=1024)
