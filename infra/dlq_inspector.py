"""The DLQ inspector: on a DLQ alarm, it looks into the queue, classifies what it finds and reports."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.functions import ServiceFunction
from infra.naming import Names


class DlqInspector(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        alerts: sns.ITopic,
        dead_letter_queues: Sequence[sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="dlq_inspector",
            publishes_to_encrypted_topic=True,
            description="Classifies dead-lettered messages when a DLQ alarm fires and reports them",
            environment={"SYSTEM_ALERTS_TOPIC_ARN": alerts.topic_arn},
        ).function
        alerts.add_subscription(subscriptions.LambdaSubscription(self.function))
        alerts.grant_publish(self.function)
        for dlq in dead_letter_queues:
            # Peek only: the inspector never deletes, so the evidence stays for redrive.
            dlq.grant(self.function, "sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
