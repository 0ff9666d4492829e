"""Infrastructure tests: what the synthesized template must declare."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from infra.app import build_app
from infra.functions import POWERTOOLS_LAYER_PARAMETER
from infra.orders import order_placed_event_schema
from infra.stack import OrderflowStack
from tests.infra.conftest import PREFIX

DEPLOYED_PYTHON = "python3.13"  # the Python the Makefile builds the venv on, where one is found

FOURTEEN_DAYS = 14 * 24 * 3600


def _queues(template: Template) -> dict[str, dict[str, Any]]:
    return {
        body["Properties"]["QueueName"]: body["Properties"]
        for body in template.find_resources("AWS::SQS::Queue").values()
    }


def _logical_id(template: Template, resource_type: str, **properties: Any) -> str:
    found = template.find_resources(resource_type, {"Properties": properties})
    assert len(found) == 1, f"expected one {resource_type} with {properties}, found {list(found)}"
    return next(iter(found))


@pytest.mark.parametrize(
    ("name", "visibility", "max_receives", "fifo"),
    [
        (f"{PREFIX}-payment", 60, 5, False),
        (f"{PREFIX}-payment-priority.fifo", 60, 5, True),
        (f"{PREFIX}-inventory.fifo", 60, 3, True),
        (f"{PREFIX}-shipping", 60, 3, False),
        (f"{PREFIX}-notification", 60, 2, False),
    ],
)
def test_service_queues_have_their_visibility_retention_and_redrive(
    template: Template, name: str, visibility: int, max_receives: int, fifo: bool
) -> None:
    # Given the synthesized queues
    queues = _queues(template)
    # Then each work queue has its visibility, long polling, retention and redrive count
    queue = queues[name]
    assert queue["VisibilityTimeout"] == visibility
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20
    assert queue["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert queue["RedrivePolicy"]["maxReceiveCount"] == max_receives
    assert queue.get("FifoQueue", False) is fifo
    # And its DLQ keeps messages for 14 days and has the same FIFO-ness
    dlq_name = name.replace(".fifo", "-dlq.fifo") if fifo else f"{name}-dlq"
    dlq = queues[dlq_name]
    assert dlq["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert dlq.get("FifoQueue", False) is fifo
    dlq_id = _logical_id(template, "AWS::SQS::Queue", QueueName=dlq_name)
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


def test_every_queue_is_encrypted_and_refuses_plain_http(template: Template) -> None:
    # Given every queue in the stack
    queue_ids = template.find_resources("AWS::SQS::Queue")
    policies = template.find_resources("AWS::SQS::QueuePolicy").values()
    # Then each has server-side encryption
    for body in queue_ids.values():
        assert body["Properties"].get("SqsManagedSseEnabled") is True, body["Properties"]["QueueName"]
    # And each has a policy denying requests without TLS
    tls_only: set[str] = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                tls_only.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert tls_only == set(queue_ids)


def test_every_dead_letter_queue_alarms_into_system_alerts(template: Template) -> None:
    # Given the DLQs (every queue that is named like one) and the alerts topic
    alerts_id = _logical_id(template, "AWS::SNS::Topic", TopicName=f"{PREFIX}-system-alerts")
    dlq_names = [name for name in _queues(template) if re.search(r"-dlq(\.fifo)?$|-failures$", name)]
    assert len(dlq_names) >= 8
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]
    # Then each DLQ has an alarm on its first visible message that notifies the alerts topic
    for dlq_name in dlq_names:
        dlq_id = _logical_id(template, "AWS::SQS::Queue", QueueName=dlq_name)
        matching = [
            a
            for a in alarms
            if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
        ]
        assert len(matching) == 1, dlq_name
        alarm = matching[0]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Period"] == 60
        assert {"Ref": alerts_id} in alarm["AlarmActions"]


def test_the_state_machine_failure_and_timeout_rates_alarm_without_notifying(template: Template) -> None:
    # Given the alarms on the state machine's metrics
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()]
    by_metric = {a["MetricName"]: a for a in alarms if a.get("Namespace") == "AWS/States"}
    # Then failed and timed-out executions are counted, and the per-execution rule does the alerting
    assert set(by_metric) == {"ExecutionsFailed", "ExecutionsTimedOut"}
    for alarm in by_metric.values():
        assert "AlarmActions" not in alarm


def test_failed_timed_out_and_aborted_order_executions_alert_with_their_input(template: Template) -> None:
    # Given the rule on the default bus for the order workflow's status changes
    alerts_id = _logical_id(template, "AWS::SNS::Topic", TopicName=f"{PREFIX}-system-alerts")
    machine_id = _logical_id(
        template, "AWS::StepFunctions::StateMachine", StateMachineName=f"{PREFIX}-order-workflow"
    )
    rules = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": f"{PREFIX}-order-execution-alerts"}}
    )
    assert len(rules) == 1
    rule = next(iter(rules.values()))["Properties"]

    # Then it listens on the default bus to Step Functions' own events, the bad endings of this workflow only
    assert "EventBusName" not in rule
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [{"Ref": machine_id}]},
    }
    # And it publishes one alert to system-alerts, shaped by an input transformer from the event's detail
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": alerts_id}
    transformer = target["InputTransformer"]
    paths = transformer["InputPathsMap"]
    assert set(paths.values()) >= {
        "$.detail.status",
        "$.detail.name",
        "$.detail.executionArn",
        "$.detail.input",
    }
    alert = json.loads(
        re.sub(r"<([\w-]+)>", lambda m: json.dumps(paths[m.group(1)]), transformer["InputTemplate"])
    )
    assert alert["kind"] == "execution-status"
    assert (alert["status"], alert["input"], alert["error"], alert["cause"]) == (
        "$.detail.status",
        "$.detail.input",
        "$.detail.error",
        "$.detail.cause",
    )
    # And EventBridge may publish to the topic and use its key
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": alerts_id}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Action": "sns:Publish", "Principal": {"Service": "events.amazonaws.com"}}
                            )
                        ]
                    )
                }
            ),
        },
    )


def test_topics_and_stream_are_encrypted(template: Template) -> None:
    # Given the topics and the analytics stream
    topics = [t["Properties"] for t in template.find_resources("AWS::SNS::Topic").values()]
    names = {t["TopicName"] for t in topics}
    # Then the four topics exist, each with a KMS key
    assert {
        f"{PREFIX}-{n}"
        for n in ("order-status", "payment-notifications", "inventory-alerts", "system-alerts")
    } <= names
    assert all("KmsMasterKeyId" in t for t in topics)
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {"Name": f"{PREFIX}-order-analytics", "ShardCount": 2, "StreamEncryption": {"EncryptionType": "KMS"}},
    )


def test_analytics_reads_the_stream_with_partial_failures_and_bisection(template: Template) -> None:
    # Given the stream's event-source mapping
    stream_id = _logical_id(template, "AWS::Kinesis::Stream", Name=f"{PREFIX}-order-analytics")
    # Then it batches 10 records for up to 5 s, reports item failures, bisects and has a failure destination
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [stream_id, "Arn"]},
            "BatchSize": 10,
            "MaximumBatchingWindowInSeconds": 5,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_every_sqs_consumer_reports_batch_item_failures(template: Template) -> None:
    # Given the SQS event-source mappings
    mappings = [
        m["Properties"]
        for m in template.find_resources("AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" not in m["Properties"]
    ]
    # Then there is one per service queue, and each reports partial batch failures
    assert len(mappings) == 6
    imports_id = _logical_id(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-imports")
    for mapping in mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # An order file can take minutes: the importer takes one at a time
        importer = mapping["EventSourceArn"] == {"Fn::GetAtt": [imports_id, "Arn"]}
        assert mapping["BatchSize"] == (1 if importer else 5)


def test_notification_queue_subscribes_to_order_status_with_a_filter(template: Template) -> None:
    # Given the subscription of the notification queue
    subscription = next(
        s["Properties"]
        for s in template.find_resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "sqs"
    )
    # Then it is raw and filtered on status and order value
    assert subscription["RawMessageDelivery"] is True
    assert set(subscription["FilterPolicy"]) == {"status", "orderValue"}
    assert "paid" not in subscription["FilterPolicy"]["status"]


def test_the_rule_on_the_orders_bus_starts_the_workflow(template: Template) -> None:
    # Given the bus, the rule and the state machine
    bus_id = _logical_id(template, "AWS::Events::EventBus", Name=f"{PREFIX}-orders")
    machine_id = _logical_id(
        template, "AWS::StepFunctions::StateMachine", StateMachineName=f"{PREFIX}-order-workflow"
    )
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))["Properties"]
    # Then the rule matches OrderPlaced from orderflow.orders on the custom bus and targets the workflow
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["EventPattern"] == {"source": ["orderflow.orders"], "detail-type": ["OrderPlaced"]}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": machine_id}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    assert "Arn" in target["DeadLetterConfig"]
    # And the bus keeps an archive for replay
    template.resource_count_is("AWS::Events::Archive", 1)


def test_the_schema_registry_holds_the_generated_order_placed_schema(template: Template) -> None:
    # Given the schema resource
    schema = next(iter(template.find_resources("AWS::EventSchemas::Schema").values()))["Properties"]
    # Then its content is what the pydantic model generates, not a second copy
    assert schema["Type"] == "JSONSchemaDraft4"
    content = json.loads(schema["Content"])
    assert content == order_placed_event_schema()
    assert set(content["properties"]["detail"]["required"]) >= {"orderId", "items", "totalAmount", "payment"}


def test_state_machine_is_standard_traced_and_logged(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )


def test_functions_are_traced_with_json_logs_on_a_current_runtime(template: Template) -> None:
    every_function = [f["Properties"] for f in template.find_resources("AWS::Lambda::Function").values()]
    # The CDK's own handler that applies bucket notifications is not one of ours
    functions = [f for f in every_function if "Custom::S3BucketNotifications" not in f.get("Description", "")]
    assert len(every_function) - len(functions) == 1
    assert len(functions) == 8
    for function in functions:
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["LoggingConfig"]["LogFormat"] == "JSON"
        assert function["Runtime"] == DEPLOYED_PYTHON
        assert function["Handler"].startswith("services.") and function["Handler"].endswith(
            ".handler.handler"
        )


def test_the_powertools_layer_is_the_one_built_for_the_deployed_python() -> None:
    assert f"/{DEPLOYED_PYTHON}/" in POWERTOOLS_LAYER_PARAMETER


def test_every_named_resource_carries_the_prefix(template: Template) -> None:
    # Given every property that names a resource
    name_keys = re.compile(
        r"^(QueueName|TopicName|TableName|FunctionName|Name|StateMachineName|AlarmName|"
        r"RuleName|ArchiveName|DashboardName|RegistryName|LogGroupName|AliasName)$"
    )
    names: list[str] = []
    for resource in template.to_json()["Resources"].values():
        for key, value in resource.get("Properties", {}).items():
            if name_keys.match(key) and isinstance(value, str):
                names.append(value)
    # Then every one of them carries the prefix
    assert len(names) > 40
    assert [n for n in names if PREFIX not in n] == []


def test_payment_can_touch_its_ledger_but_not_the_stock(template: Template) -> None:
    # Given the payment function's policy
    ledger_id = _logical_id(template, "AWS::DynamoDB::Table", TableName=f"{PREFIX}-payments")
    stock_id = _logical_id(template, "AWS::DynamoDB::Table", TableName=f"{PREFIX}-inventory")
    policies = template.find_resources("AWS::IAM::Policy")
    payment_policy = next(
        p["Properties"]["PolicyDocument"]
        for logical_id, p in policies.items()
        if logical_id.startswith("PaymentService")
    )
    text = json.dumps(payment_policy)
    # Then it names the ledger and never the inventory table
    assert ledger_id in text
    assert stock_id not in text
    # And no statement grants every action
    assert all(s["Action"] != "*" for s in payment_policy["Statement"])


def test_the_workflow_can_only_send_to_its_own_queues(template: Template) -> None:
    policies = template.find_resources("AWS::IAM::Policy")
    workflow_policy = next(
        p["Properties"]["PolicyDocument"]
        for logical_id, p in policies.items()
        if logical_id.startswith("WorkflowStateMachine")
    )
    send = [s for s in workflow_policy["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert send, "the workflow sends to queues"
    for statement in send:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert all("Fn::GetAtt" in r for r in resources), "queue sends name their queues"


def test_cdk_nag_reports_no_unsuppressed_errors(stack: OrderflowStack) -> None:
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], "\n".join(str(e.entry.data) for e in errors)


def test_the_app_runs_cdk_nag_so_a_rule_breaking_resource_is_flagged() -> None:
    # Given the app as app.py builds it, with a queue that breaks the rules added to its stack
    # (without the app's own nag, the test above would pass on a stack nobody checked)
    app = cdk.App(context={"prefix": "nagcheck"})
    stack = build_app(app)
    sqs.Queue(stack, "Plain", encryption=sqs.QueueEncryption.UNENCRYPTED)

    # When it is synthesized
    app.synth()

    # Then the nag checks the app added report that queue
    flagged = Annotations.from_stack(stack).find_error(
        "/Orderflow/Plain/Resource", Match.string_like_regexp("AwsSolutions-SQS.*")
    )
    assert flagged, "the app did not run cdk-nag's AwsSolutions checks"


def test_only_the_callback_services_may_answer_task_tokens(template: Template) -> None:
    # Given every IAM policy in the stack
    policies = template.find_resources("AWS::IAM::Policy")
    answering = sorted(
        logical_id.split("Service")[0]
        for logical_id, policy in policies.items()
        if "states:SendTaskSuccess" in json.dumps(policy["Properties"]["PolicyDocument"])
    )
    # Then payment, inventory and shipping may, and nothing else
    assert answering == ["Inventory", "Payment", "Shipping"]
