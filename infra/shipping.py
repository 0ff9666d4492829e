"""Shipping: the shipment requests queue and the service that books shipments."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import timing
from infra.functions import ServiceFunction
from infra.naming import Names
from infra.queues import ServiceQueue
from infra.tables import table


class Shipping(Construct):
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
        self.requests = ServiceQueue(
            self,
            "Requests",
            names=names,
            name="shipping",
            visibility_timeout=timing.SHIPPING.visibility,
            max_receive_count=timing.SHIPPING.max_receives,
            alerts=alerts,
        )
        # The service's record of each order's shipment, booked or cancelled (the saga cancels it).
        self.shipments = table(self, "Shipments", table_name=names("shipments"), partition_key="orderId")
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="shipping",
            description="Books shipments with the carrier and returns a tracking number",
            environment={
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                "SHIPMENTS_TABLE": self.shipments.table_name,
            },
        ).function
        idempotency_table.grant_read_write_data(self.function)
        self.shipments.grant_read_write_data(self.function)
        self.function.add_event_source(
            sources.SqsEventSource(self.requests.queue, batch_size=5, report_batch_item_failures=True)
        )
