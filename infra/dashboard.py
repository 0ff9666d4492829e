"""One CloudWatch dashboard for the whole order system."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.naming import Names

BUSINESS_METRICS = (
    "PaymentsCaptured",
    "PaymentsDeclined",
    "OrdersOutOfStock",
    "ShipmentsBooked",
    "NotificationsSent",
)


class OrderDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        queues: Sequence[sqs.IQueue],
        dead_letter_queues: Sequence[sqs.IQueue],
        state_machine: sfn.StateMachine,
        stream: kinesis.IStream,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(1)
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=names("operations"))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=period),
                    state_machine.metric_succeeded(period=period),
                    state_machine.metric_failed(period=period),
                    state_machine.metric_timed_out(period=period),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Queue depth",
                left=[q.metric_approximate_number_of_messages_visible(period=period) for q in queues],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Age of oldest message",
                left=[q.metric_approximate_age_of_oldest_message(period=period) for q in queues],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="DLQ depth",
                left=[
                    q.metric_approximate_number_of_messages_visible(period=period) for q in dead_letter_queues
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Analytics iterator age",
                left=[stream.metric_get_records_iterator_age_milliseconds(period=period)],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Business",
                left=[
                    cloudwatch.Metric(
                        namespace="orderflow",
                        metric_name=name,
                        statistic=cloudwatch.Stats.SUM,
                        period=period,
                        dimensions_map={"service": service},
                    )
                    for name, service in zip(
                        BUSINESS_METRICS,
                        ("payment", "payment", "inventory", "shipping", "notification"),
                        strict=True,
                    )
                ],
                width=12,
            ),
        )
