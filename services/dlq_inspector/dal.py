"""Peeking into dead-letter queues (SQS), publishing reports to the system-alerts topic (SNS), recording
undeliverable orders as rejected (DynamoDB) and re-arming an alarm (CloudWatch)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.dlq_inspector.models import REPORT_KIND, DeadLetter, DlqReport
from services.dlq_inspector.rejections import rejected_order_item
from services.shared import aws

if TYPE_CHECKING:
    from services.orders.models import ValidationResult


class SqsDeadLetterSource:
    def peek(self, queue_name: str, limit: int) -> list[DeadLetter]:
        client = aws.sqs()
        queue_url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        # VisibilityTimeout=0 leaves each message visible: the inspector only looks, operators redrive.
        messages = client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(limit, 10),
            VisibilityTimeout=0,
            WaitTimeSeconds=0,  # a peek: the DLQ's 20 s long polling would only hold the function up
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        letters = []
        for message in messages:
            attributes = message.get("Attributes", {})
            sent = attributes.get("SentTimestamp")
            letters.append(
                DeadLetter(
                    messageId=message["MessageId"],
                    body=message.get("Body", ""),
                    receiveCount=int(attributes["ApproximateReceiveCount"])
                    if "ApproximateReceiveCount" in attributes
                    else None,
                    sentAt=datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat() if sent else None,
                    attributes={
                        name: value["StringValue"]
                        for name, value in message.get("MessageAttributes", {}).items()
                        if "StringValue" in value
                    },
                    receiptHandle=message.get("ReceiptHandle"),
                )
            )
        return letters

    def remove(self, queue_name: str, letter: DeadLetter) -> None:
        if letter.receiptHandle is None:
            return
        client = aws.sqs()
        queue_url = client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        client.delete_message(QueueUrl=queue_url, ReceiptHandle=letter.receiptHandle)


class DynamoDBRejections:
    """Rejected orders in the orders table, written once: an order that has a record keeps it."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def record(self, result: ValidationResult, *, now: str) -> bool:
        try:
            aws.dynamodb().put_item(
                TableName=self._table,
                Item=rejected_order_item(result, now=now),
                ConditionExpression="attribute_not_exists(orderId)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True


class CloudWatchAlarms:
    def rearm(self, alarm_name: str, reason: str) -> None:
        aws.cloudwatch().set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason=reason)


class SnsReportPublisher:
    def __init__(self, topic_arn: str) -> None:
        self._topic_arn = topic_arn

    def publish(self, report: DlqReport) -> None:
        aws.sns().publish(
            TopicArn=self._topic_arn,
            Subject=f"DLQ report: {report.queue}"[:100],
            Message=report.model_dump_json(),
            # The attribute marks our own reports, which come back to us through the same topic.
            MessageAttributes={"kind": {"DataType": "String", "StringValue": REPORT_KIND}},
        )
