from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pydantic import Field

from services.shared.aws import error_code
from services.shared.batch import MAX_BACKOFF_SECONDS, backoff_seconds
from services.shared.settings import MissingSettingError, ServiceSettings, read_settings


class ExampleSettings(ServiceSettings):
    table: str = Field(alias="EXAMPLE_TABLE")
    limit: int = Field(default=3, alias="EXAMPLE_LIMIT")


@pytest.mark.parametrize(
    ("receive_count", "delay"), [(0, 1), (1, 1), (2, 2), (3, 4), (5, 16), (40, MAX_BACKOFF_SECONDS)]
)
def test_retry_delay_doubles_and_is_capped(receive_count: int, delay: int) -> None:
    # Given a message received a number of times
    # When its retry delay is computed
    # Then it doubles per receive, starting at 1 s, up to the cap
    assert backoff_seconds(receive_count) == delay


def test_the_doubling_stops_after_thirty_steps_whatever_the_cap() -> None:
    # Given a cap far above a billion seconds, so that only the exponent's own limit applies
    # When the delay of a message received an absurd number of times is computed
    # Then the exponent stops at 30: the number stays small instead of growing with the receive count
    assert backoff_seconds(10**6, cap=2**40) == 2**30


def test_settings_are_read_from_the_environment_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given variables set after import
    monkeypatch.setenv("EXAMPLE_TABLE", "orders")
    monkeypatch.setenv("EXAMPLE_LIMIT", "7")
    # When settings are read
    settings = read_settings(ExampleSettings)
    # Then they are typed
    assert (settings.table, settings.limit) == ("orders", 7)


def test_missing_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a required variable absent
    monkeypatch.delenv("EXAMPLE_TABLE", raising=False)
    # When settings are read
    # Then the error names it
    with pytest.raises(MissingSettingError, match="EXAMPLE_TABLE"):
        read_settings(ExampleSettings)


def test_error_code_is_read_from_a_failed_call_when_present() -> None:
    # Given a failed call with an error code, and one whose response has none
    failed = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
    bare = ClientError({}, "PutItem")
    # When their codes are read
    # Then the first names its code and the second has none
    assert (error_code(failed), error_code(bare)) == ("ConditionalCheckFailedException", None)
