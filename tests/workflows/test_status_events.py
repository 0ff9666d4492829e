"""An order's status-change events reach a rule of one's own, and its bad ending alerts system-alerts.

Embedded only: the rule, its queue and the order are made here, on the suite's LocalAws.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from infra.naming import Names, configured_prefix
from services.shared.contract import EVENT_SOURCE, ORDER_PLACED
from services.shared.execution_alerts import is_execution_alert, order_id_of
from tests.workflows import scenarios as matrix
from tests.workflows.conftest import REPO, Started, embedded
from tests.workflows.integration import STOCK_UNITS, OrderDesk
from tests.workflows.polling import wait_for_execution
from workflows import states

STATUS_CHANGES = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def _drain(sqs: Any, url: str, keep: Any, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if keep(body):
                found.append(body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_rule_of_mine_receives_an_orders_status_changes_and_system_alerts_names_the_order(
    started: Started,
) -> None:
    local = embedded(started)
    names = Names(configured_prefix(REPO / "cdk.json"))
    sqs, events, sns = local.client("sqs"), local.client("events"), local.client("sns")
    run_id = uuid.uuid4().hex[:6]

    # Given my rule on the default bus, for every Step Functions status change, with an SQS target
    mine_url, mine_arn = _queue(sqs, f"my-status-changes-{run_id}")
    events.put_rule(Name=f"my-status-changes-{run_id}", EventPattern=json.dumps(STATUS_CHANGES))
    events.put_targets(Rule=f"my-status-changes-{run_id}", Targets=[{"Id": "mine", "Arn": mine_arn}])
    # And a queue subscribed to system-alerts (an on-call inbox)
    inbox_url, inbox_arn = _queue(sqs, f"my-alert-inbox-{run_id}")
    alerts_topic = next(
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":{names('system-alerts')}")
    )
    sns.subscribe(TopicArn=alerts_topic, Protocol="sqs", Endpoint=inbox_arn)

    # When an order with two SKUs, the second out of stock, goes through the bus
    desk = OrderDesk(local.client, names)
    items = [(f"st-a-{run_id}", 1, "10.00"), (f"st-b-{run_id}", STOCK_UNITS + 1, "1.00")]
    detail = matrix.order_event(f"st-{run_id}", items)["detail"]
    desk.seed([sku for sku, _, _ in items])
    events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": ORDER_PLACED,
                "Detail": json.dumps(detail),
                "EventBusName": names("orders"),
            }
        ]
    )
    order_id = detail["orderId"]

    # Then my rule receives its RUNNING event, then FAILED, with the order in the input
    mine = _drain(sqs, mine_url, lambda e: order_id_of(e["detail"]["input"]) == order_id, 2)
    assert [e["detail"]["status"] for e in mine] == ["RUNNING", "FAILED"]
    running, failed = (e["detail"] for e in mine)
    assert running["executionArn"] == failed["executionArn"]
    assert failed["error"] == states.ORDER_CANCELLED_ERROR
    assert failed["stopDate"] >= failed["startDate"]
    record = wait_for_execution(desk.sfn, failed["executionArn"], timeout=60)
    assert record.path[-1] == states.ORDER_CANCELLED
    # And system-alerts received one alert for it, whose input names the order
    (alert,) = _drain(
        sqs,
        inbox_url,
        lambda n: is_execution_alert(m := json.loads(n["Message"])) and order_id_of(m["input"]) == order_id,
        1,
    )
    message = json.loads(alert["Message"])
    assert (message["status"], message["error"]) == ("FAILED", states.ORDER_CANCELLED_ERROR)
    assert message["executionArn"] == failed["executionArn"]
