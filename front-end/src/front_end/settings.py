"""The front-end's settings: its port and the broker's address as the browser sees it."""

from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from svckit.settings import ServiceSettings


class FrontEndSettings(ServiceSettings):
    port: int = 8082
    # The page's JavaScript calls the broker straight from the browser.
    broker_url: str = Field(
        "http://localhost:8080",
        description="the broker's address **as the browser sees it** (not a container name); a"
        " plain `http(s)://host:port` address, trailing `/` dropped, anything else refused at"
        " start",
    )
    trace_ui_url: str = Field(
        "",
        description="a trace UI (Jaeger's: `http://localhost:16686`); each output line's trace"
        " id (the broker's `X-Trace-Id`) links to `<url>/trace/<id>`; empty: the id is shown"
        " as text",
    )
    lab_url: str = Field(
        "",
        description="The launcher's lab control API as the browser reaches it (set by "
        "`make -C project run` with lab controls on); empty: the page has no Lab panel, as in "
        "compose and Kubernetes.",
    )

    @field_validator("broker_url", "trace_ui_url", "lab_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        name = info.field_name.upper() if info.field_name else "the address"
        if not value.strip() and name in ("TRACE_UI_URL", "LAB_URL"):
            return ""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{name} must be an http:// or https:// address")
        if parts.query or parts.fragment or any(c in value for c in "\"'<> "):
            raise ValueError(f"{name} must be a plain address without query or quotes")
        return value.strip().rstrip("/")

    @property
    def broker_origin(self) -> str:
        return _origin(self.broker_url)

    @property
    def lab_origin(self) -> str:
        return _origin(self.lab_url) if self.lab_url else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
