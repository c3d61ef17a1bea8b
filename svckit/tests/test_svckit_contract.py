"""The logger's contract: the names every door and caller share, and one refusal in one wording."""

import pytest
from pydantic import ValidationError
from svckit import contract
from svckit.contract import LIMITS, Entry, log_body
from svckit.errors import describe_validation_errors


def test_the_names_are_the_originals() -> None:
    assert contract.LOG_INFO == "RPCServer.LogInfo"
    assert contract.LOGS_EXCHANGE == "logs_topic"
    assert contract.LOG_ROUTING_KEYS == ("log.INFO", "log.WARNING", "log.ERROR")
    assert contract.rpc_reply("event") == "Processed payload via RPC:event"


def test_an_entry_travels_as_each_door_names_its_fields() -> None:
    entry = Entry.model_validate({"NAME": "event", "Data": "x"})
    assert entry.body() == {"name": "event", "data": "x"}
    assert entry.rpc_args() == {"Name": "event", "Data": "x"}
    assert log_body("event", 5, "id-1") == {"name": "event", "data": 5, "event_id": "id-1"}


@pytest.mark.parametrize("field", ["name", "data"])
def test_an_entry_over_a_cap_is_refused_in_the_same_words_by_the_model_and_the_doors(
    field: str,
) -> None:
    too_long = {
        "name": "n" * (LIMITS.log_name_max + (field == "name")),
        "data": "d" * (LIMITS.log_data_max + (field == "data")),
    }
    with pytest.raises(ValidationError) as refused:
        Entry.model_validate(too_long)
    assert describe_validation_errors(refused.value.errors()) == LIMITS.refusal(
        too_long["name"], too_long["data"]
    )
