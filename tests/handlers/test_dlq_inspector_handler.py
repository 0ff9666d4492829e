from __future__ import annotations

import json

from services.dlq_inspector.handler import handler
from tests.handlers.conftest import Cloud
from tests.helpers.events import load_event
from tests.helpers.lambda_context import FakeLambdaContext
from tests.helpers.templates import template_body

DLQ = "orderflow-payment-dlq"


def test_alarm_produces_one_report_about_the_dead_letters(cloud: Cloud) -> None:
    # Given a payment DLQ holding a malformed message, an off-contract one and a valid one
    url = cloud.queue_url(DLQ)
    valid = template_body("sqs_payment_charge")
    off_contract = {key: value for key, value in valid.items() if key != "currency"}
    for body in ["<html>oops</html>", json.dumps(off_contract), json.dumps(valid)]:
        cloud.sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"source": {"DataType": "String", "StringValue": "workflow"}},
        )
    # When its alarm notification arrives through system-alerts
    result = handler(load_event("sns_dlq_alarm"), FakeLambdaContext())
    # Then one report, marked as such, is published with a verdict per message
    assert result == {"reported": [DLQ], "ignored": 0}
    [published] = cloud.published("system-alerts")
    assert published["Subject"] == f"DLQ report: {DLQ}"
    assert published["MessageAttributes"]["kind"]["Value"] == "dlq-report"
    report = json.loads(published["Message"])
    assert report["counts"] == {"malformed-json": 1, "contract-violation": 1, "exhausted-retries": 1}
    violation = next(m for m in report["messages"] if m["verdict"] == "contract-violation")
    assert "currency: Field required" in violation["detail"]
    assert all(m["attributes"] == {"source": "workflow"} for m in report["messages"])
    # And the dead letters are still there for an operator to redrive
    attributes = cloud.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "3"


def test_own_reports_and_other_alerts_are_ignored(cloud: Cloud) -> None:
    # Given the inspector's own report, and an alarm going back to OK, arriving on system-alerts
    report_event = load_event("sns_dlq_report")
    ok_event = load_event("sns_dlq_alarm")
    alarm = json.loads(ok_event["Records"][0]["Sns"]["Message"]) | {"NewStateValue": "OK"}
    ok_event["Records"][0]["Sns"]["Message"] = json.dumps(alarm)
    # When they are handled
    results = [handler(report_event, FakeLambdaContext()), handler(ok_event, FakeLambdaContext())]
    # Then nothing is published, so there is no loop
    assert results == [{"reported": [], "ignored": 1}, {"reported": [], "ignored": 1}]
    assert cloud.published("system-alerts") == []
