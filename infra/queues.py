"""A queue with its dead-letter queue and the DLQ alarm: every queue in orderflow is one of these."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import accept_dead_letter_target
from infra.naming import Names

LONG_POLL = Duration.seconds(20)
DLQ_RETENTION = Duration.days(14)


def dead_letter_queue(
    scope: Construct, construct_id: str, *, queue_name: str, alerts: sns.ITopic, fifo: bool = False
) -> sqs.Queue:
    """A DLQ (or a queue used as one) with the alarm that fires on its first message."""
    dlq = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        fifo=fifo or None,
        retention_period=DLQ_RETENTION,
        receive_message_wait_time=LONG_POLL,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.DESTROY,
    )
    alarm = cloudwatch.Alarm(
        scope,
        f"{construct_id}Alarm",
        alarm_name=f"{queue_name}-not-empty",
        alarm_description=f"A message landed in {queue_name}: something failed and needs a look",
        metric=dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cw_actions.SnsAction(alerts))
    alarm.add_ok_action(cw_actions.SnsAction(alerts))
    return dlq


def dead_letter_target(
    scope: Construct, construct_id: str, *, queue_name: str, alerts: sns.ITopic
) -> sqs.Queue:
    """A queue that EventBridge, Lambda or the workflow dead-letters into (no redrive of its own)."""
    queue = dead_letter_queue(scope, construct_id, queue_name=queue_name, alerts=alerts)
    accept_dead_letter_target(queue)
    return queue


class ServiceQueue(Construct):
    """A work queue, its DLQ after ``max_receive_count`` receives, and the DLQ alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        name: str,
        visibility_timeout: Duration,
        max_receive_count: int,
        alerts: sns.ITopic,
        fifo: bool = False,
        content_based_deduplication: bool = False,
        retention: Duration = Duration.days(14),
    ) -> None:
        super().__init__(scope, construct_id)
        queue_name = f"{name}.fifo" if fifo else name
        self.dlq = dead_letter_queue(self, "Dlq", queue_name=names.dlq(queue_name), alerts=alerts, fifo=fifo)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=names(queue_name),
            fifo=fifo or None,
            content_based_deduplication=content_based_deduplication or None,
            visibility_timeout=visibility_timeout,
            retention_period=retention,
            receive_message_wait_time=LONG_POLL,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=max_receive_count),
            removal_policy=RemovalPolicy.DESTROY,
        )
