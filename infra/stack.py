"""The orderflow stack: it composes the service constructs, wires them together and declares outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import timing
from infra.analytics import Analytics
from infra.dashboard import OrderDashboard
from infra.dlq_inspector import DlqInspector
from infra.encryption import MessagingKey
from infra.execution_alerts import ExecutionAlerts
from infra.importer import Importer, ImportPace
from infra.inventory import Inventory
from infra.naming import Names
from infra.notification import Notification
from infra.orders import Orders
from infra.payment import Payment
from infra.queues import dead_letter_target
from infra.shipping import Shipping
from infra.tables import table
from infra.topics import topic
from infra.workflow import OrderStateMachine
from workflows.order_workflow import WorkflowResources


class OrderflowStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        notification_channel: str,
        import_pace: ImportPace | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        import_pace = import_pace or ImportPace()
        key = MessagingKey(self, "Encryption", names=names).key
        alerts = topic(
            self, "SystemAlerts", topic_name=names("system-alerts"), key=key, display_name="orderflow alerts"
        )
        idempotency = table(
            self,
            "Idempotency",
            table_name=names("idempotency"),
            partition_key="id",
            time_to_live_attribute="expiration",
        )

        orders = Orders(self, "Orders", names=names, alerts=alerts)
        payment = Payment(self, "Payment", names=names, key=key, alerts=alerts, idempotency_table=idempotency)
        inventory = Inventory(self, "Inventory", names=names, key=key, alerts=alerts)
        shipping = Shipping(self, "Shipping", names=names, alerts=alerts, idempotency_table=idempotency)
        notification = Notification(
            self, "Notification", names=names, key=key, alerts=alerts, channel=notification_channel
        )
        analytics = Analytics(self, "Analytics", names=names, alerts=alerts, idempotency_table=idempotency)
        compensation_dlq = dead_letter_target(
            self, "CompensationDlq", queue_name=names("compensation-dlq"), alerts=alerts
        )

        workflow = OrderStateMachine(
            self,
            "Workflow",
            names=names,
            resources=WorkflowResources(
                validate_function=orders.validate,
                orders_table=orders.orders_table,
                payment_queue=payment.requests.queue,
                priority_payment_queue=payment.priority_requests.queue,
                inventory_queue=inventory.requests.queue,
                shipping_queue=shipping.requests.queue,
                compensation_dlq=compensation_dlq,
                order_status_topic=notification.order_status,
                system_alerts_topic=alerts,
                analytics_stream=analytics.stream,
                bus=orders.bus,
                timeouts=timing.callback_timeouts(),
            ),
        )
        orders.start_workflow(workflow.state_machine)
        importer = Importer(
            self,
            "Importer",
            names=names,
            alerts=alerts,
            bus=orders.bus,
            orders_table=orders.orders_table,
            idempotency_table=idempotency,
            pace=import_pace,
            backlog_queues=[
                inventory.requests.queue,
                payment.requests.queue,
                payment.priority_requests.queue,
                shipping.requests.queue,
            ],
            order_workflow=workflow.state_machine,
        )
        ExecutionAlerts(
            self, "ExecutionAlerts", names=names, state_machine=workflow.state_machine, alerts=alerts
        )
        for service in (payment.function, inventory.function, shipping.function):
            workflow.state_machine.grant_task_response(service)

        service_queues = [
            payment.requests,
            payment.priority_requests,
            inventory.requests,
            shipping.requests,
            notification.requests,
            importer.requests,
        ]
        dead_letter_queues: list[sqs.IQueue] = [
            *(q.dlq for q in service_queues),
            compensation_dlq,
            analytics.failures,
            orders.delivery_dlq,
        ]
        DlqInspector(
            self,
            "DlqInspector",
            names=names,
            alerts=alerts,
            dead_letter_queues=dead_letter_queues,
            order_events_dlq=orders.delivery_dlq,
            orders_table=orders.orders_table,
        )
        OrderDashboard(
            self,
            "Operations",
            names=names,
            queues=[q.queue for q in service_queues],
            dead_letter_queues=dead_letter_queues,
            state_machine=workflow.state_machine,
            stream=analytics.stream,
        )

        CfnOutput(self, "EventBusName", value=orders.bus.event_bus_name)
        CfnOutput(self, "StateMachineArn", value=workflow.state_machine.state_machine_arn)
        CfnOutput(self, "OrdersTableName", value=orders.orders_table.table_name)
        CfnOutput(self, "SystemAlertsTopicArn", value=alerts.topic_arn)
        CfnOutput(self, "ImportBucketName", value=importer.bucket.bucket_name)
