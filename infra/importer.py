"""Bulk import: the bucket partners drop order files in, its notifications, the import queue and service."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Aws, BundlingOptions, DockerImage, Duration, Fn, ILocalBundling, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.functions import RUNTIME, ServiceFunction
from infra.nag import (
    accept_access_log_bucket,
    accept_bucket_notifications_handler,
    accept_object_prefix_access,
)
from infra.naming import Names
from infra.queues import ServiceQueue
from services.importer.models import INCOMING_PREFIX, LIST_EXECUTIONS_MAX_RESULTS, REPORT_PREFIX

# Formats the importer reads; S3 filters take one prefix and one suffix per rule, so one rule each.
IMPORT_SUFFIXES = (".json", ".jsonl")
FUNCTION_TIMEOUT = Duration.minutes(15)  # a 100 MB file is about 300,000 orders: 30,000 PutEvents calls
# Lambda's advice for SQS event sources: a visibility timeout of six times the function's timeout.
IMPORT_VISIBILITY = Duration.minutes(90)
LAYER_DIR = Path(__file__).resolve().parent / "layers" / "importer"


@dataclass(frozen=True)
class ImportPace:
    """How fast an import may publish (context ``importOrdersPerSecond``), the backlog of the workflow's
    callback queues at which it holds (context ``importMaxQueueBacklog``), and the running orders at which
    it holds (context ``importMaxRunningOrders``)."""

    orders_per_second: float = 10.0
    max_queue_backlog: int = 50
    max_running_orders: int = 100

    def __post_init__(self) -> None:
        if not self.orders_per_second > 0:
            raise ValueError(f"importOrdersPerSecond: must be above 0, got {self.orders_per_second}")
        if self.max_queue_backlog < 0:
            raise ValueError(f"importMaxQueueBacklog: must be 0 or more, got {self.max_queue_backlog}")
        if not 0 <= self.max_running_orders < LIST_EXECUTIONS_MAX_RESULTS:
            raise ValueError(
                f"importMaxRunningOrders: must be 0 to {LIST_EXECUTIONS_MAX_RESULTS - 1} (it is read from one"
                f" ListExecutions page), got {self.max_running_orders}"
            )


@jsii.implements(ILocalBundling)
class _WheelInstall:
    """Installs the locked ijson wheel built for the Lambda runtime into the layer, without Docker."""

    def __init__(self, requirement: str) -> None:
        self._requirement = requirement

    def try_bundle(self, output_dir: str, *_options: Any, **_bundling: Any) -> bool:
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv is None:
            raise RuntimeError("bundling the importer layer needs uv (make dev installs it in .venv)")
        python_version = RUNTIME.name.removeprefix("python")
        command = [
            uv, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
            "--python-platform", "x86_64-manylinux_2_28", "--python-version", python_version,
            "--target", str(Path(output_dir) / "python"), self._requirement,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"bundling the importer layer failed: {' '.join(command)}\n{result.stderr}")
        return True


def ijson_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """ijson for the Lambda runtime: the version in uv.lock (installed in the venv that synthesizes)."""
    requirement = f"ijson=={importlib.metadata.version('ijson')}"
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description=f"{requirement} for the importer",
        compatible_runtimes=[RUNTIME],
        code=lambda_.Code.from_asset(
            str(LAYER_DIR),
            asset_hash=f"{requirement}-{RUNTIME.name}-x86_64",
            asset_hash_type=None,
            bundling=BundlingOptions(
                image=DockerImage.from_registry("unused-docker-bundling-is-never-used"),
                local=_WheelInstall(requirement),
            ),
        ),
    )


class Importer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        alerts: sns.ITopic,
        bus: events.IEventBus,
        orders_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        pace: ImportPace,
        backlog_queues: Sequence[sqs.IQueue],
        order_workflow: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        # Log delivery granted by bucket policy, not the legacy LogDeliveryWrite ACL (ACLs stay disabled).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=names(f"import-logs-{Aws.ACCOUNT_ID}-{Aws.REGION}"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        accept_access_log_bucket(access_logs)
        # Partners' files and their reports are business records: the bucket outlives the stack.
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=names.import_bucket(Aws.ACCOUNT_ID, Aws.REGION),
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="imports/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="processed-to-infrequent-access-then-expire",
                    prefix=REPORT_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        )
                    ],
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                ),
                s3.LifecycleRule(
                    id="old-versions-and-unfinished-uploads",
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.requests = ServiceQueue(
            self,
            "Requests",
            names=names,
            name="imports",
            visibility_timeout=IMPORT_VISIBILITY,
            max_receive_count=3,
            alerts=alerts,
        )
        for suffix in IMPORT_SUFFIXES:
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.SqsDestination(self.requests.queue),
                s3.NotificationKeyFilter(prefix=INCOMING_PREFIX, suffix=suffix),
            )
        accept_bucket_notifications_handler(self)

        self.function = ServiceFunction(
            self,
            "Service",
            names=names,
            service="importer",
            description="Imports order files from the imports bucket onto the orders bus, with a report",
            timeout=FUNCTION_TIMEOUT,
            memory_size=1024,
            layers=[ijson_layer(self, "Ijson")],
            environment={
                "EVENT_BUS_NAME": bus.event_bus_name,
                "ORDERS_TABLE": orders_table.table_name,
                "IMPORT_QUEUE_URL": self.requests.queue.queue_url,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                "IMPORT_ORDERS_PER_SECOND": str(pace.orders_per_second),
                "IMPORT_MAX_QUEUE_BACKLOG": str(pace.max_queue_backlog),
                "IMPORT_MAX_RUNNING_ORDERS": str(pace.max_running_orders),
                "ORDER_STATE_MACHINE_ARN": order_workflow.state_machine_arn,
                "BACKLOG_QUEUE_URLS": Fn.join(",", [queue.queue_url for queue in backlog_queues]),
            },
        ).function
        # Exactly what it does: read the uploaded versions, write reports (grant_read would add List*).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[self.bucket.arn_for_objects(f"{INCOMING_PREFIX}*")],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{REPORT_PREFIX}*")]
            )
        )
        accept_object_prefix_access(self.function, self.bucket, [INCOMING_PREFIX, REPORT_PREFIX])
        bus.grant_put_events_to(self.function)
        orders_table.grant(self.function, "dynamodb:BatchGetItem")
        # A long file goes on in the next invocation: the importer queues its own continuation.
        self.requests.queue.grant_send_messages(self.function)
        idempotency_table.grant_read_write_data(self.function)
        for queue in backlog_queues:
            queue.grant(self.function, "sqs:GetQueueAttributes")
        # ListExecutions is authorised on the state machine: the running orders, one page of them.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:ListExecutions"], resources=[order_workflow.state_machine_arn]
            )
        )
        # One file per invocation: a file may take minutes, and one that fails must not take others along.
        self.function.add_event_source(
            sources.SqsEventSource(self.requests.queue, batch_size=1, report_batch_item_failures=True)
        )
