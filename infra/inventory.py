"""Inventory: the FIFO queue (one message group per SKU), stock and reservations, low-stock alerts."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import timing
from infra.functions import ServiceFunction
from infra.naming import Names
from infra.queues import ServiceQueue
from infra.tables import table
from infra.topics import topic

LOW_STOCK_THRESHOLD = 10
RESERVATION_TTL = Duration.hours(1)


class Inventory(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, key: kms.IKey, alerts: sns.ITopic
    ) -> None:
        super().__init__(scope, construct_id)
        # The workflow sets the deduplication id (<order>-<sku>-<action>), so content dedup stays off.
        self.requests = ServiceQueue(
            self,
            "Requests",
            names=names,
            name="inventory",
            fifo=True,
            visibility_timeout=timing.INVENTORY.visibility,
            max_receive_count=timing.INVENTORY.max_receives,
            alerts=alerts,
        )
        self.stock = table(
            self,
            "Stock",
            table_name=names("inventory"),
            partition_key="sku",
            sort_key="recordId",
            time_to_live_attribute="ttl",
        )
        self.alerts = topic(
            self, "Alerts", topic_name=names("inventory-alerts"), key=key, display_name="orderflow low stock"
        )
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="inventory",
            publishes_to_encrypted_topic=True,
            description="Reserves and releases stock with conditional updates; never below zero",
            environment={
                "INVENTORY_TABLE": self.stock.table_name,
                "INVENTORY_ALERTS_TOPIC_ARN": self.alerts.topic_arn,
                "LOW_STOCK_THRESHOLD": str(LOW_STOCK_THRESHOLD),
                "RESERVATION_TTL_SECONDS": str(int(RESERVATION_TTL.to_seconds())),
            },
        ).function
        self.stock.grant_read_write_data(self.function)
        self.alerts.grant_publish(self.function)
        self.function.add_event_source(
            sources.SqsEventSource(self.requests.queue, batch_size=5, report_batch_item_failures=True)
        )
