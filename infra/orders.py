"""The orders entry point: the event bus, its archive and schema, the orders table and validation."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.functions import ServiceFunction
from infra.naming import Names
from infra.queues import dead_letter_target
from infra.tables import table
from services.shared.contract import (
    EVENT_SOURCE,
    ORDER_PLACED,
    SCHEMA_REGISTRY_NAME,
    order_placed_json_schema,
)


def order_placed_event_schema() -> dict[str, object]:
    """The whole ``OrderPlaced`` event as JSON Schema draft 4, generated from the pydantic model."""
    detail = order_placed_json_schema()
    definitions = detail.pop("$defs", {})
    text = json.dumps(detail).replace("#/$defs/", "#/definitions/")
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": ORDER_PLACED,
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "source": {"type": "string", "enum": [EVENT_SOURCE]},
            "detail-type": {"type": "string", "enum": [ORDER_PLACED]},
            "detail": json.loads(text),
        },
        "definitions": json.loads(json.dumps(definitions).replace("#/$defs/", "#/definitions/")),
    }


class Orders(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, alerts: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        self._names = names
        self.bus = events.EventBus(self, "Bus", event_bus_name=names("orders"))
        self.bus.archive(
            "Archive",
            archive_name=names("orders-archive"),
            description="Every order event, for replay",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            retention=Duration.days(90),
        )
        registry = eventschemas.CfnRegistry(
            self, "Registry", registry_name=names(SCHEMA_REGISTRY_NAME), description="orderflow events"
        )
        schema = eventschemas.CfnSchema(
            self,
            "OrderPlacedSchema",
            registry_name=names(SCHEMA_REGISTRY_NAME),
            schema_name=f"{EVENT_SOURCE}@{ORDER_PLACED}",
            type="JSONSchemaDraft4",
            content=json.dumps(order_placed_event_schema()),
            description="The OrderPlaced event that users post to the orders bus",
        )
        schema.node.add_dependency(registry)
        self.orders_table = table(self, "OrdersTable", table_name=names("orders"), partition_key="orderId")
        self.validate = ServiceFunction(
            self,
            "Validate",
            names=names,
            service="orders",
            description="Validates OrderPlaced events against the public contract",
        ).function
        self.delivery_dlq = dead_letter_target(
            self, "DeliveryDlq", queue_name=names("order-events-dlq"), alerts=alerts
        )

    def start_workflow(self, state_machine: sfn.IStateMachine) -> events.Rule:
        """The rule that starts one execution per ``OrderPlaced`` event."""
        return events.Rule(
            self,
            "OrderPlacedRule",
            rule_name=self._names("order-placed"),
            event_bus=self.bus,
            description="Starts the order workflow for every OrderPlaced event",
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[ORDER_PLACED]),
            targets=[
                targets.SfnStateMachine(
                    state_machine,
                    dead_letter_queue=self.delivery_dlq,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
