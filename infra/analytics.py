"""Analytics: the order lifecycle stream and the function that aggregates it."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.functions import ServiceFunction
from infra.naming import Names
from infra.queues import dead_letter_target
from infra.tables import table

# Events are keyed by orderId, so each order keeps its order within a shard; two shards share the load and
# make the per-shard checkpoints real even on the local stack.
SHARDS = 2
BATCH_SIZE = 10
BATCHING_WINDOW = Duration.seconds(5)


class Analytics(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        alerts: sns.ITopic,
        idempotency_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stream = kinesis.Stream(
            self,
            "Stream",
            stream_name=names("order-analytics"),
            shard_count=SHARDS,
            encryption=kinesis.StreamEncryption.MANAGED,
            retention_period=Duration.hours(24),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.aggregates = table(
            self, "Aggregates", table_name=names("analytics"), partition_key="pk", sort_key="sk"
        )
        # Batches that still fail after retries and bisection are described here (Lambda's on-failure record).
        self.failures = dead_letter_target(
            self, "Failures", queue_name=names("analytics-failures"), alerts=alerts
        )
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="analytics",
            description="Aggregates order lifecycle events: counts by status, revenue, per-minute rates",
            environment={
                "ANALYTICS_TABLE": self.aggregates.table_name,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
            },
        ).function
        self.aggregates.grant_read_write_data(self.function)
        idempotency_table.grant_read_write_data(self.function)
        self.function.add_event_source(
            sources.KinesisEventSource(
                self.stream,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=BATCH_SIZE,
                max_batching_window=BATCHING_WINDOW,
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=3,
                on_failure=sources.SqsDlq(self.failures),
            )
        )
