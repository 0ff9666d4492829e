"""The DLQ inspector: on a DLQ alarm, it looks into the queue, classifies what it finds and reports."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
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
        order_events_dlq: sqs.IQueue,
        orders_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="dlq_inspector",
            publishes_to_encrypted_topic=True,
            description="Classifies dead-lettered messages when a DLQ alarm fires and reports them",
            environment={
                "SYSTEM_ALERTS_TOPIC_ARN": alerts.topic_arn,
                "ORDERS_TABLE": orders_table.table_name,
                "ORDER_EVENTS_DLQ": order_events_dlq.queue_name,
            },
        ).function
        alerts.add_subscription(subscriptions.LambdaSubscription(self.function))
        alerts.grant_publish(self.function)
        for dlq in dead_letter_queues:
            # Peek only: the inspector never deletes, so the evidence stays for redrive.
            dlq.grant(self.function, "sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
        # An order event that can never reach the workflow is recorded as a rejected order, its letter taken
        # off the queue (the bus archive keeps the event), and the queue's alarm re-armed for the next one.
        orders_table.grant(self.function, "dynamodb:PutItem")
        order_events_dlq.grant(self.function, "sqs:DeleteMessage")
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:SetAlarmState"],
                resources=[
                    Stack.of(self).format_arn(
                        service="cloudwatch",
                        resource="alarm",
                        resource_name=f"{order_events_dlq.queue_name}-not-empty",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
