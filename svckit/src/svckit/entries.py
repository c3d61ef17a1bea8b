"""What one log entry may be: the one cap every door of the logger and the broker enforces.

Lengths are counted in characters (Unicode code points), as pydantic's `max_length` and
OpenAPI's `maxLength` count them, so the schema states the limit exactly; in UTF-8 an entry
then takes at most four bytes a character. Read once from the environment (`LOG_NAME_MAX`,
`LOG_DATA_MAX`), by the logger and the broker alike, so both judge an entry the same way.
"""

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Most bytes one character takes in UTF-8, and as orjson writes it in JSON (`\u001f`).
UTF8_MAX = 4
JSON_MAX = 6


class EntryLimits(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    log_name_max: int = Field(
        default=256,
        ge=1,
        le=4096,
        description="most characters of a log entry's `name`, on every door of the logger and"
        " every log route of the broker (both read it: set both alike)",
    )
    log_data_max: int = Field(
        default=64 * 1024,
        ge=1,
        le=1024 * 1024,
        description="most characters of a log entry's `data`, likewise",
    )

    def refusal(
        self, name: str, data: str, fields: tuple[str, str] = ("name", "data")
    ) -> str | None:
        """Why an entry is refused, naming the field (as the door's caller calls it) in
        pydantic's words; None: it is fine."""
        for field, value, limit in (
            (fields[0], name, self.log_name_max),
            (fields[1], data, self.log_data_max),
        ):
            if len(value) > limit:
                return f"{field}: String should have at most {limit} characters"
        return None

    @property
    def utf8_max(self) -> int:
        """Most bytes one entry's name and data take in UTF-8."""
        return (self.log_name_max + self.log_data_max) * UTF8_MAX

    @property
    def json_max(self) -> int:
        """Most bytes one entry's name and data take as JSON string contents."""
        return (self.log_name_max + self.log_data_max) * JSON_MAX


LIMITS = EntryLimits()

EntryName = Annotated[
    str,
    Field(
        max_length=LIMITS.log_name_max,
        description=f"at most {LIMITS.log_name_max} characters (LOG_NAME_MAX)",
    ),
]
EntryData = Annotated[
    str,
    Field(
        max_length=LIMITS.log_data_max,
        description=f"at most {LIMITS.log_data_max} characters (LOG_DATA_MAX)",
    ),
]
