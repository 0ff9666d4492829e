"""The order workflow's scenario matrix: MockConfigFile test cases, on the engine the environment picks."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from services.inventory.models import ReleaseResult, Reservation
from services.orders.logic import validate_order
from services.payment.models import ChargeResult, RefundResult
from services.shipping.models import Shipment
from tests.workflows.conftest import Started, mocked_workflow, scenario_ids
from tests.workflows.deviations import deviation_expected
from tests.workflows.polling import explained_by
from tests.workflows.scenarios import MOCK_CONFIG_FILE, SCENARIOS, STATE_MACHINE_NAME, Scenario
from workflows import states


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_ids(SCENARIOS))
def test_scenario(started: Started, scenario: Scenario) -> None:
    # Given the order workflow and the scenario's test case (started with the others, at session start)
    workflow = mocked_workflow(started)
    execution = started.mocked_runs[scenario.test_case]

    # When its execution ends
    record = execution.result()

    # Then its status, path, output and side effects are the scenario's (or the engine's known deviation)
    with deviation_expected(workflow.kind, scenario.test_case), explained_by(record):
        assert record.status == scenario.status
        assert record.error == scenario.error
        assert record.path == list(scenario.path)
        scenario.then(record)


def test_the_matrix_covers_the_issue() -> None:
    # Given / When the scenario matrix / Then it has every required scenario, each with its own test case
    assert len(SCENARIOS) >= 12
    assert len({s.test_case for s in SCENARIOS}) == len(SCENARIOS)


# The mocks stand in for the services: they must say what the services would say.
_SERVICE_ANSWERS: dict[str, type[BaseModel]] = {
    states.REQUEST_PAYMENT: ChargeResult,
    states.REQUEST_PRIORITY_PAYMENT: ChargeResult,
    states.REFUND_PAYMENT: RefundResult,
    states.RESERVE_ITEM: Reservation,
    states.RELEASE_ITEM: ReleaseResult,
    states.REQUEST_SHIPMENT: Shipment,
}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_ids(SCENARIOS))
def test_the_mocks_answer_as_the_services_would(scenario: Scenario) -> None:
    # Given the scenario's test case in the MockConfigFile
    config = json.loads(MOCK_CONFIG_FILE.read_text())
    mocked = config["StateMachines"][STATE_MACHINE_NAME]["TestCases"][scenario.test_case]
    answers = {state: config["MockedResponses"][name] for state, name in mocked.items()}

    # When / Then the validation is what the orders service says of the scenario's event
    (validation,) = answers[states.VALIDATE_ORDER].values()
    expected = validate_order(scenario.event["id"], scenario.event["detail"]).to_output()
    assert validation["Return"] == {"StatusCode": 200, "Payload": expected}
    # And every callback's answer has the shape of that service's answer
    for state, model in _SERVICE_ANSWERS.items():
        for response in answers.get(state, {}).values():
            if "Return" in response:
                model.model_validate(response["Return"])
