"""The synthesized state machine definition: callbacks, compensation, and nothing engine-specific."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template

from services.shared.contract import Milestone
from workflows import states


@pytest.fixture(scope="module")
def definition(template: Template) -> dict[str, Any]:
    machine = next(iter(template.find_resources("AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # Tokens (ARNs, names) sit inside JSON strings; a placeholder keeps the shape, which is what matters here.
    text = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return json.loads(text)


def _all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"])


def test_payment_inventory_and_shipping_wait_for_task_tokens(definition: dict[str, Any]) -> None:
    by_name = dict(_all_states(definition))
    for name in (
        states.REQUEST_PAYMENT,
        states.REQUEST_PRIORITY_PAYMENT,
        states.RESERVE_ITEM,
        states.REQUEST_SHIPMENT,
        states.REFUND_PAYMENT,
        states.RELEASE_ITEM,
    ):
        assert by_name[name]["Resource"].endswith("sqs:sendMessage.waitForTaskToken"), name
        assert "TimeoutSeconds" in by_name[name], name
    assert "HeartbeatSeconds" in by_name[states.REQUEST_PAYMENT]
    assert by_name[states.RESERVE_ITEM]["Parameters"]["MessageGroupId.$"] == "$.sku"


def test_failures_after_payment_lead_into_compensation(definition: dict[str, Any]) -> None:
    by_name = dict(_all_states(definition))

    def catch_targets(name: str) -> set[str]:
        return {c["Next"] for c in by_name[name].get("Catch", [])}

    assert catch_targets(states.REQUEST_PAYMENT) == {states.CANCEL_ORDER, states.REFUND_PAYMENT}
    assert catch_targets(states.RESERVE_STOCK) == {states.RELEASE_STOCK}
    # A refused shipment booked nothing; a timeout (a lost answer) may have: its shipment is cancelled first
    assert [(c["ErrorEquals"], c["Next"]) for c in by_name[states.REQUEST_SHIPMENT]["Catch"]] == [
        (["ShipmentRejected"], states.RELEASE_STOCK),
        (["States.ALL"], states.CANCEL_SHIPMENT),
    ]
    assert by_name[states.CANCEL_SHIPMENT]["Next"] == states.RELEASE_STOCK
    assert catch_targets(states.CANCEL_SHIPMENT) == {states.PARK_FAILED_SHIPMENT_CANCEL}
    assert by_name[states.RELEASE_STOCK]["Next"] == states.REFUND_PAYMENT
    assert by_name[states.REFUND_PAYMENT]["Next"] == states.CANCEL_ORDER
    assert catch_targets(states.REFUND_PAYMENT) == {states.PARK_FAILED_REFUND}
    assert by_name[states.ORDER_CANCELLED]["Type"] == "Fail"
    assert by_name[states.ORDER_REJECTED]["Error"] == states.ORDER_REJECTED_ERROR


def test_announcements_never_fail_an_order(definition: dict[str, Any]) -> None:
    # Given every milestone's SNS publish and Kinesis put (each must exist: an empty set proves nothing)
    by_name = dict(_all_states(definition))
    announcements = {states.notify(m) for m in Milestone} | {states.track(m) for m in Milestone}
    assert announcements <= set(by_name), sorted(announcements - set(by_name))
    # When / Then each catches every error and goes on with the order
    for name in sorted(announcements):
        catches = by_name[name].get("Catch", [])
        assert any(c["ErrorEquals"] == ["States.ALL"] for c in catches), name


def test_definition_uses_jsonpath_only(definition: dict[str, Any]) -> None:
    text = json.dumps(definition)
    assert "JSONata" not in text
    assert '"Assign"' not in text
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"


def test_every_state_name_is_a_declared_constant(definition: dict[str, Any]) -> None:
    declared = {v for k, v in vars(states).items() if k.isupper() and isinstance(v, str)}
    milestone_names = {
        n for n, _ in _all_states(definition) if n.startswith(("Notify ", "Track ", "Describe "))
    }
    undeclared = {n for n, _ in _all_states(definition)} - declared - milestone_names
    assert undeclared == set()
