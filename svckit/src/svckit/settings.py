"""The settings base: every service reads its environment once, validated at start-up.

Any setting `x` may come from a file instead: `X_FILE=/run/secrets/x` (the official images'
convention, how Docker and Kubernetes hand over secrets) wins over `X`. Its content is the
value, a trailing newline dropped; it is never logged nor echoed in an error.
"""

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

# Loopback and the private ranges: where a Prometheus of a demo, compose or a cluster scrapes
# from, and no caller on the internet does.
PRIVATE_NETWORKS = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
FILE_SUFFIX = "_FILE"


def read_value_file(variable: str, path: str) -> str:
    """The content of the file `variable` names, less its trailing newline (what `echo` and
    editors add); an unreadable file is an error naming the variable and the path only."""
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SettingsError(f"{variable}={path}: cannot read it ({reason})") from None


class ValueFiles(PydanticBaseSettingsSource):
    """Each field `x` whose `X_FILE` is set, from that file."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        variable = field_name.upper() + FILE_SUFFIX
        path = next((v for k, v in os.environ.items() if k.upper() == variable), "")
        return (read_value_file(variable, path) if path else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            name: self.get_field_value(field, name)[0]
            for name, field in self.settings_cls.model_fields.items()
        }
        return {name: value for name, value in found.items() if value is not None}


class ServiceSettings(BaseSettings):
    """Common settings; each service subclasses this and sets its own `port` default.

    Environment variable names are the field names in upper case (`PORT`, `LOG_LEVEL`, ...),
    each also readable from the file `<NAME>_FILE` names.
    The HTTP door's limits are explained in svckit's README.
    """

    # A refused value is named, never shown: it may have come from a secret's file.
    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `X_FILE` before `X`: a secret's file wins over a value left in the environment.
        files = ValueFiles(settings_cls)
        return init_settings, files, env_settings, dotenv_settings, file_secret_settings

    host: str = Field("0.0.0.0", description="the interface the HTTP door listens on")
    port: int = Field(8080, description="the HTTP port")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`"
    )
    log_format: Literal["json", "text"] = Field(
        "json",
        description="`json` (one object a line on stderr, with `trace_id` and `span_id`) or `text`",
    )
    shutdown_grace: int = Field(
        10, description="seconds in-flight requests get after SIGTERM before they are closed"
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="peers whose `X-Forwarded-For` names the client (uvicorn's rule: addresses"
        " or networks, `*` for any); the client address is then that header's, skipping these"
        " peers; anyone else's is ignored, so no caller can claim another address",
    )

    # The HTTP door's bounds (svckit.http_limits), so no client holds it with slow or big
    # requests.
    limit_concurrency: int = Field(
        default=1000,
        ge=1,
        description="open connections plus running requests; a request beyond them is"
        " answered 503 at once (uvicorn's `limit_concurrency`)",
    )
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="the request line and headers together; more is answered 431 and the"
        " connection closed (Go's `MaxHeaderBytes`)",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="seconds from a connection's start, or a kept-alive connection's next"
        " request's first byte, to the end of its headers; a connection still sending them is"
        " closed (Go's `ReadHeaderTimeout`)",
    )
    body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="seconds from the end of the headers to the body's last byte; a body still"
        " arriving is answered 408 and the connection closed",
    )
    keep_alive_timeout: int = Field(
        default=5,
        ge=1,
        description="seconds an idle keep-alive connection is kept (uvicorn's"
        " `timeout_keep_alive`; compose's proxy lets go of its connections after 3)",
    )
    metrics_allow_ips: str = Field(
        PRIVATE_NETWORKS,
        description="clients (after `FORWARDED_ALLOW_IPS`) that `/metrics` answers:"
        " comma-separated addresses or networks (default: loopback and the private networks);"
        " others get 403; `*` for anyone; empty turns `/metrics` off (404)",
    )

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip() not in ("", "*"):
                ipaddress.ip_network(item.strip(), strict=False)
        return value

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        """The networks /metrics answers, None for anyone; an empty list: /metrics is off."""
        items = [item.strip() for item in self.metrics_allow_ips.split(",") if item.strip()]
        if "*" in items:
            return None
        return [ipaddress.ip_network(item, strict=False) for item in items]
