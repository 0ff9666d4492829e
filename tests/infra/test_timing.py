"""The workflow's waits on each service agree with that service's queue and function, as synthesized.

A crashed invocation's message comes back after the queue's visibility timeout; the workflow must still be
waiting then (heartbeat), and for every receive the queue allows (timeout). See ``infra.timing``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template

from infra.timing import CallbackQueueTiming
from workflows import states

CALLBACK_STATES = (
    states.REQUEST_PAYMENT,
    states.REQUEST_PRIORITY_PAYMENT,
    states.RESERVE_ITEM,
    states.REQUEST_SHIPMENT,
    states.REFUND_PAYMENT,
    states.RELEASE_ITEM,
)


def _states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])


@pytest.fixture(scope="module")
def callbacks(template: Template) -> dict[str, dict[str, Any]]:
    machine = next(iter(template.find_resources("AWS::StepFunctions::StateMachine").values()))
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # A queue URL is a Ref to its queue: keep the logical id, so each callback names the queue it waits on.
    text = "".join(p if isinstance(p, str) else p.get("Ref", "TOKEN") for p in parts)
    by_name = dict(_states(json.loads(text)))
    return {name: by_name[name] for name in CALLBACK_STATES}


def _function_timeout(template: Template, queue_id: str) -> int:
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    (function_ref,) = {
        m["Properties"]["FunctionName"]["Ref"]
        for m in mappings
        if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    }
    return int(template.find_resources("AWS::Lambda::Function")[function_ref]["Properties"]["Timeout"])


@pytest.mark.parametrize("state_name", CALLBACK_STATES)
def test_a_crashed_request_is_retried_before_the_workflow_gives_up(
    template: Template, callbacks: dict[str, dict[str, Any]], state_name: str
) -> None:
    # Given a callback state, the queue it sends to and the function that reads that queue
    state = callbacks[state_name]
    queue_id = state["Parameters"]["QueueUrl"]
    queue = template.find_resources("AWS::SQS::Queue")[queue_id]["Properties"]
    visibility = int(queue["VisibilityTimeout"])
    receives = int(queue["RedrivePolicy"]["maxReceiveCount"])
    function_timeout = _function_timeout(template, queue_id)
    # Then no message is handed out again while its invocation may still run
    assert visibility >= 2 * function_timeout
    # And a crashed attempt's redelivery heartbeats before the heartbeat expires
    assert state["HeartbeatSeconds"] > visibility + function_timeout
    # And every receive the queue allows fits inside the task's timeout
    assert state["TimeoutSeconds"] >= receives * (visibility + function_timeout) + state["HeartbeatSeconds"]


def test_timing_rules_put_the_heartbeat_after_a_redelivery() -> None:
    # Given a queue with 60 s of visibility and 3 receives, and 30 s function timeouts
    timing = CallbackQueueTiming(visibility=Duration.seconds(60), max_receives=3)
    # Then the heartbeat leaves a batch's worth of time after the redelivery, and the timeout every receive
    assert timing.heartbeat.to_seconds() == 120
    assert timing.timeout.to_seconds() == 3 * 90 + 120
