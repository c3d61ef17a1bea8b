"""Request bodies read the way the Go original's `encoding/json` read them.

- Whatever the Content-Type says, the body is JSON: `curl -d '{...}'` sends
  `application/x-www-form-urlencoded`, and the original's `json.Decoder` never looked.
  FastAPI parses a body model only for JSON content types, so `svckit.edge` presents every
  body as JSON before FastAPI reads it.
- Keys match field names case-insensitively (`{"Action":"log","Log":{"Name":..}}` is the
  same request as the lower-case one); of several keys for one field the last wins, as each
  one Go decodes overwrites the field. `GoModel` applies that rule to a pydantic model and
  `go_fields` to a plain object.
- A JSON escape of a lone surrogate becomes U+FFFD, as Go decodes it (`valid_text`), so no
  string we store or send fails to encode as UTF-8 later.
"""

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def fold(key: str) -> str:
    """A key as Go's case-insensitive match sees it (`bytes.EqualFold`, simple case folding).

    `lower()` is that folding for every letter that folds to ASCII but the long s, `ſ`, which
    Go folds to `s`; Kelvin's `K` already lowers to `k`.
    """
    return key.lower().replace("ſ", "s")


def valid_text(value: str) -> str:
    """`value` with each lone surrogate replaced by U+FFFD, as Go's decoder replaces it."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def go_fields(obj: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """`obj`'s members under the field `names` they match (strings made valid text); members
    matching none are dropped."""
    by_fold = {fold(name): name for name in names}
    matched: dict[str, Any] = {}
    for key, value in obj.items():
        name = by_fold.get(fold(key)) if isinstance(key, str) else None
        if name is not None:
            matched[name] = valid_text(value) if isinstance(value, str) else value
    return matched


class GoModel(BaseModel):
    """A request body whose keys match its fields (or their aliases) case-insensitively.

    Unknown keys are ignored, as Go ignored them.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _match_keys_as_go_did(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = [field.alias or name for name, field in cls.model_fields.items()]
        return go_fields(data, names)
