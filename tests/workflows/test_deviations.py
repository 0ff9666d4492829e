"""The known deviations of other engines: a listed failure is expected, a listed success is not."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, XFailed

from tests.workflows.backends import STEP_FUNCTIONS_LOCAL, external_engine
from tests.workflows.deviations import KNOWN, LOCALSTACK, deviation_expected
from tests.workflows.scenarios import SCENARIOS


def test_a_listed_deviation_that_shows_is_an_expected_failure() -> None:
    # Given / When a listed scenario's assertions fail on LocalStack / Then it is xfail, with the reason
    with pytest.raises(XFailed, match="Jayway"), deviation_expected(LOCALSTACK, "HappyPath"):
        raise AssertionError("items is not a list")


def test_a_listed_deviation_that_is_gone_fails_the_test() -> None:
    # Given / When a listed scenario passes on LocalStack / Then the test fails: the entry must go
    with pytest.raises(Failed, match="remove it"), deviation_expected(LOCALSTACK, "HappyPath"):
        pass


def test_an_unlisted_scenario_fails_as_itself() -> None:
    # Given / When an unlisted scenario fails, on LocalStack or on our engine / Then its own error comes out
    for engine in (LOCALSTACK, "embedded"):
        with pytest.raises(AssertionError, match="wrong path"), deviation_expected(engine, "MultiSku"):
            raise AssertionError("wrong path")


def test_every_listed_test_case_is_a_scenario_and_our_engine_has_none() -> None:
    test_cases = {scenario.test_case for scenario in SCENARIOS}
    assert set(KNOWN[LOCALSTACK]) <= test_cases
    assert "embedded" not in KNOWN


def test_the_engine_behind_an_endpoint_is_named_by_the_environment() -> None:
    assert external_engine({}) == STEP_FUNCTIONS_LOCAL
    assert external_engine({"ORDERFLOW_SFN_ENGINE": "localstack"}) == LOCALSTACK
