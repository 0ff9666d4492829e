"""Notification: the order-status topic, the customer notification queue and its filter."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.functions import ServiceFunction
from infra.naming import Names
from infra.queues import ServiceQueue
from infra.tables import table
from infra.topics import topic
from services.shared.contract import Milestone

# Customers hear about these milestones; "paid" goes out on the payment-notifications topic instead.
CUSTOMER_MILESTONES = [Milestone.PLACED, Milestone.SHIPPED, Milestone.CANCELLED, Milestone.REJECTED]


class Notification(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        key: kms.IKey,
        alerts: sns.ITopic,
        channel: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.order_status = topic(
            self,
            "OrderStatus",
            topic_name=names("order-status"),
            key=key,
            display_name="orderflow order status",
        )
        # A notice is quick to send and worthless late: 1 minute of visibility and few retries.
        self.requests = ServiceQueue(
            self,
            "Requests",
            names=names,
            name="notification",
            visibility_timeout=Duration.minutes(1),
            max_receive_count=2,
            alerts=alerts,
        )
        self.order_status.add_subscription(
            subscriptions.SqsSubscription(
                self.requests.queue,
                raw_message_delivery=True,
                filter_policy={
                    "status": sns.SubscriptionFilter.string_filter(
                        allowlist=[milestone.value for milestone in CUSTOMER_MILESTONES]
                    ),
                    "orderValue": sns.SubscriptionFilter.numeric_filter(greater_than_or_equal_to=0),
                },
            )
        )
        self.log = table(
            self, "Log", table_name=names("notifications"), partition_key="orderId", sort_key="notificationId"
        )
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="notification",
            description="Tells customers about their orders through the configured channel",
            environment={"NOTIFICATIONS_TABLE": self.log.table_name, "NOTIFICATION_CHANNEL": channel},
        ).function
        self.log.grant_read_write_data(self.function)
        if channel == "sns-sms":
            # An SMS publish goes to a phone number, not a topic, so there is no ARN to scope it to.
            self.function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=["*"]))
        self.function.add_event_source(
            sources.SqsEventSource(self.requests.queue, batch_size=5, report_batch_item_failures=True)
        )
