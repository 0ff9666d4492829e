"""Handlers run against moto: real tables, queues, topics, and a real (moto) Step Functions execution.

Task-token answers are checked honestly: each test starts an execution of a one-state machine that sends a
``.waitForTaskToken`` request, and asserts how that execution ended (SUCCEEDED with the output, or FAILED
with the error). moto's ``execute_state_machine`` mode runs the ASL and accepts SendTask* for its tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from services.shared import aws, batch, idempotency
from tests.helpers.events import sqs_event
from tests.helpers.lambda_context import FakeLambdaContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeDefinitionTypeDef, KeySchemaElementTypeDef
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

REGION = "us-east-1"
ACCOUNT = "123456789012"
TABLES = {
    "orderflow-payments": ("orderId", "entryId"),
    "orderflow-inventory": ("sku", "recordId"),
    "orderflow-notifications": ("orderId", "notificationId"),
    "orderflow-analytics": ("pk", "sk"),
    "orderflow-idempotency": ("id", None),
    "orderflow-shipments": ("orderId", None),
}
TOPICS = ["payment-notifications", "inventory-alerts", "system-alerts", "order-status"]
QUEUES = ["orderflow-payment", "orderflow-shipping", "orderflow-notification", "orderflow-payment-dlq"]


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:orderflow-{name}"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "orderflow",
        "POWERTOOLS_SERVICE_NAME": "test",
        "LEDGER_TABLE": "orderflow-payments",
        "IDEMPOTENCY_TABLE": "orderflow-idempotency",
        "SHIPMENTS_TABLE": "orderflow-shipments",
        "PAYMENT_TOPIC_ARN": topic_arn("payment-notifications"),
        "INVENTORY_TABLE": "orderflow-inventory",
        "INVENTORY_ALERTS_TOPIC_ARN": topic_arn("inventory-alerts"),
        "LOW_STOCK_THRESHOLD": "10",
        "RESERVATION_TTL_SECONDS": "3600",
        "NOTIFICATIONS_TABLE": "orderflow-notifications",
        "NOTIFICATION_CHANNEL": "recording",
        "ANALYTICS_TABLE": "orderflow-analytics",
        "SYSTEM_ALERTS_TOPIC_ARN": topic_arn("system-alerts"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Cloud:
    """The mocked account, with helpers to deliver messages and observe what the services published."""

    sqs: SQSClient
    topic_taps: dict[str, str]

    def queue_url(self, name: str) -> str:
        return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def deliver(
        self, queue: str, template: str, bodies: Sequence[dict[str, Any] | str], group_id: str | None = None
    ) -> dict[str, Any]:
        """Send ``bodies`` to ``queue`` and receive them, as the event-source mapping would, into an event."""
        url = self.queue_url(queue)
        for index, body in enumerate(bodies):
            text = body if isinstance(body, str) else json.dumps(body)
            extra: dict[str, Any] = {}
            if queue.endswith(".fifo"):
                extra = {
                    "MessageGroupId": group_id or "g",
                    "MessageDeduplicationId": f"{time.time_ns()}-{index}",
                }
            self.sqs.send_message(QueueUrl=url, MessageBody=text, **extra)
        return self.receive(queue, len(bodies), template)

    def receive(self, queue: str, count: int, template: str) -> dict[str, Any]:
        url = self.queue_url(queue)
        messages: list[MessageTypeDef] = []
        deadline = time.monotonic() + 10
        while len(messages) < count and time.monotonic() < deadline:
            batch_ = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
            ).get("Messages", [])
            messages.extend(batch_)
            if not batch_:
                time.sleep(0.1)
        assert len(messages) == count, f"expected {count} messages on {queue}, got {len(messages)}"
        return sqs_event(
            template,
            [
                {
                    "body": message["Body"],
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "receiveCount": int(message["Attributes"]["ApproximateReceiveCount"]),
                    "eventSourceARN": self.queue_arn(queue),
                    **(
                        {"messageGroupId": message["Attributes"]["MessageGroupId"]}
                        if "MessageGroupId" in message["Attributes"]
                        else {}
                    ),
                }
                for message in messages
            ],
        )

    def invoke(self, handler: Callable[..., Any], event: dict[str, Any]) -> Any:
        """Call ``handler`` like the SQS event-source mapping: delete the messages not reported as failed."""
        response = handler(event, FakeLambdaContext())
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                queue = record["eventSourceARN"].rsplit(":", 1)[1]
                self.sqs.delete_message(QueueUrl=self.queue_url(queue), ReceiptHandle=record["receiptHandle"])
        return response

    def published(self, topic: str) -> list[dict[str, Any]]:
        """Messages published to ``topic`` so far (read through an SQS subscription)."""
        url = self.topic_taps[topic]
        found: list[dict[str, Any]] = []
        while True:
            batch_ = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch_:
                return found
            for message in batch_:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def cloud(environment: None) -> Iterator[Cloud]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        aws.reset_clients()
        idempotency.reset_persistence()
        batch._queue_url.cache_clear()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for table, (pk, sk) in TABLES.items():
            keys: list[KeySchemaElementTypeDef] = [{"AttributeName": pk, "KeyType": "HASH"}]
            attributes: list[AttributeDefinitionTypeDef] = [{"AttributeName": pk, "AttributeType": "S"}]
            if sk:
                keys.append({"AttributeName": sk, "KeyType": "RANGE"})
                attributes.append({"AttributeName": sk, "AttributeType": "S"})
            dynamodb.create_table(
                TableName=table,
                KeySchema=keys,
                AttributeDefinitions=attributes,
                BillingMode="PAY_PER_REQUEST",
            )
        sqs = boto3.client("sqs", region_name=REGION)
        for queue in QUEUES:
            sqs.create_queue(QueueName=queue)
        sqs.create_queue(
            QueueName="orderflow-inventory.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )
        sns = boto3.client("sns", region_name=REGION)
        taps: dict[str, str] = {}
        for topic in TOPICS:
            arn = sns.create_topic(Name=f"orderflow-{topic}")["TopicArn"]
            tap_url = sqs.create_queue(QueueName=f"tap-{topic}")["QueueUrl"]
            sns.subscribe(
                TopicArn=arn,
                Protocol="sqs",
                Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:tap-{topic}",
                Attributes={"RawMessageDelivery": "false"},
            )
            taps[topic] = tap_url
        yield Cloud(sqs=sqs, topic_taps=taps)
        aws.reset_clients()
        idempotency.reset_persistence()
        batch._queue_url.cache_clear()


@dataclass
class Waiting:
    execution_arn: str
    token: str


class Workflow:
    """A one-state workflow waiting for a task token, like each callback step of the order workflow."""

    def __init__(self, cloud: Cloud) -> None:
        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        self._sqs = cloud.sqs
        self._queue = cloud.sqs.create_queue(QueueName="workflow-task-requests")["QueueUrl"]
        definition = {
            "StartAt": "WaitForService",
            "States": {
                "WaitForService": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": self._queue, "MessageBody": {"taskToken.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 600,
                    "End": True,
                }
            },
        }
        self._machine = self._sfn.create_state_machine(
            name="callback-step",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/workflow",
        )["stateMachineArn"]

    def start(self) -> Waiting:
        # A name is given because moto would otherwise name every execution the same.
        execution = self._sfn.start_execution(stateMachineArn=self._machine, name=uuid.uuid4().hex)[
            "executionArn"
        ]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = self._sqs.receive_message(QueueUrl=self._queue).get("Messages", [])
            if messages:
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=messages[0]["ReceiptHandle"])
                return Waiting(execution_arn=execution, token=json.loads(messages[0]["Body"])["taskToken"])
            time.sleep(0.05)
        raise AssertionError("the workflow never asked for a task token")

    def outcome(self, waiting: Waiting, *, wait: float = 5.0) -> dict[str, Any]:
        """How the execution ended: status, and output or error (RUNNING if it still waits after ``wait``)."""
        deadline = time.monotonic() + wait
        while True:
            described = self._sfn.describe_execution(executionArn=waiting.execution_arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        result: dict[str, Any] = {"status": described["status"]}
        if "output" in described:
            result["output"] = json.loads(described["output"])
        if "error" in described:
            result["error"] = described["error"]
        return result


@pytest.fixture
def workflow(cloud: Cloud) -> Workflow:
    return Workflow(cloud)
