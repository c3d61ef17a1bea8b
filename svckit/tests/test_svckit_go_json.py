"""Keys match fields as Go's encoding/json matched them: in any case, the last one winning."""

import pytest
from pydantic import Field, ValidationError
from svckit.go_json import GoModel, fold, go_fields


class Mail(GoModel):
    sender: str = Field("", alias="from")
    to: str


class Request(GoModel):
    action: str
    mail: Mail | None = None


def test_any_case_reaches_the_field_and_its_alias_nested_too() -> None:
    parsed = Request.model_validate({"ACTION": "mail", "Mail": {"From": "a@b.c", "tO": "d@e.f"}})
    assert parsed == Request(
        action="mail", mail=Mail.model_validate({"from": "a@b.c", "to": "d@e.f"})
    )


def test_of_several_keys_for_one_field_the_last_wins_and_unknown_keys_are_ignored() -> None:
    parsed = Request.model_validate({"action": "a", "Action": "b", "Actions": "c", "x": 1})
    assert parsed.action == "b"


def test_a_key_folds_as_go_folds_it() -> None:
    # Go's simple folding maps the long s and the Kelvin sign onto ASCII; `ß` is not `ss`.
    assert fold("ACTION") == fold("action") == "action"
    assert fold("ſubject") == "subject"
    assert fold("\u212aey") == "key"
    assert go_fields({"meßage": "x"}, ["message"]) == {}


def test_a_missing_field_is_still_named_by_its_own_name() -> None:
    with pytest.raises(ValidationError) as caught:
        Request.model_validate({"MAIL": {"from": "a@b.c"}})
    assert {tuple(e["loc"]) for e in caught.value.errors()} == {("action",), ("mail", "to")}
