"""Payment: the standard and priority lanes, the ledger and the payment notifications topic."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
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
from services.payment.models import PROVIDER_TABLE_VARIABLE

# Five charges per invocation: a batch finishes well inside its visibility timeout, and a failed charge
# returns alone (ReportBatchItemFailures) while the other four are done.
BATCH_SIZE = 5


class Payment(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        key: kms.IKey,
        alerts: sns.ITopic,
        idempotency_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        # Visibility and tries as ``infra.timing`` sets them: the workflow's heartbeat and timeout follow.
        self.requests = ServiceQueue(
            self,
            "Requests",
            names=names,
            name="payment",
            visibility_timeout=timing.PAYMENT.visibility,
            max_receive_count=timing.PAYMENT.max_receives,
            alerts=alerts,
        )
        # Priority orders skip the queue of standard ones; FIFO keeps one order's requests in sequence.
        self.priority_requests = ServiceQueue(
            self,
            "PriorityRequests",
            names=names,
            name="payment-priority",
            fifo=True,
            visibility_timeout=timing.PRIORITY_PAYMENT.visibility,
            max_receive_count=timing.PRIORITY_PAYMENT.max_receives,
            alerts=alerts,
        )
        self.ledger = table(
            self, "Ledger", table_name=names("payments"), partition_key="orderId", sort_key="entryId"
        )
        # The bundled provider's own record of the money it moved (a real provider's dashboard), where an
        # audit counts captures and refunds: the ledger's key allows one CHARGE row, so it cannot show two.
        self.provider_statement = table(
            self,
            "ProviderStatement",
            table_name=names("payment-provider"),
            partition_key="orderId",
            sort_key="movementId",
        )
        self.notifications = topic(
            self,
            "Notifications",
            topic_name=names("payment-notifications"),
            key=key,
            display_name="orderflow payments",
        )
        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="payment",
            publishes_to_encrypted_topic=True,
            description="Authorizes, captures and refunds payments; answers the workflow's task tokens",
            environment={
                "LEDGER_TABLE": self.ledger.table_name,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                "PAYMENT_TOPIC_ARN": self.notifications.topic_arn,
                PROVIDER_TABLE_VARIABLE: self.provider_statement.table_name,
            },
        ).function
        self.ledger.grant_read_write_data(self.function)
        self.provider_statement.grant_read_write_data(self.function)
        idempotency_table.grant_read_write_data(self.function)
        self.notifications.grant_publish(self.function)
        for lane in (self.requests, self.priority_requests):
            self.function.add_event_source(
                sources.SqsEventSource(lane.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True)
            )
