"""Infrastructure of the bulk import: the bucket, its notifications, the import queue and the importer."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import PREFIX
from workflows.states import STATE_MACHINE_NAME_SUFFIX


def _one(template: Template, resource_type: str, **properties: Any) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, {"Properties": properties})
    assert len(found) == 1, f"expected one {resource_type} with {properties}, found {list(found)}"
    logical_id, body = next(iter(found.items()))
    return logical_id, body["Properties"]


def _imports_bucket(template: Template) -> tuple[str, dict[str, Any]]:
    buckets = {
        k: v["Properties"]
        for k, v in template.find_resources("AWS::S3::Bucket").items()
        if f"{PREFIX}-imports-" in str(v["Properties"]["BucketName"])
    }
    assert len(buckets) == 1, buckets
    return next(iter(buckets.items()))


def test_the_imports_bucket_is_versioned_encrypted_private_and_logged(template: Template) -> None:
    bucket_id, bucket = _imports_bucket(template)
    assert bucket["BucketName"] == {
        "Fn::Join": ["", [f"{PREFIX}-imports-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    default = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert default["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "DestinationBucketName" in bucket["LoggingConfiguration"]
    # TLS only: the policy denies every request that is not over HTTPS
    _, policy = _one(template, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket_id})
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "s3:*"


def test_processed_reports_move_to_cheaper_storage_then_expire(template: Template) -> None:
    _, bucket = _imports_bucket(template)
    (processed,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "processed/"]
    assert processed["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert processed["ExpirationInDays"] == 365
    assert processed["Status"] == "Enabled"


def test_new_json_and_jsonl_files_in_incoming_notify_the_import_queue(template: Template) -> None:
    bucket_id, _ = _imports_bucket(template)
    queue_id, queue = _one(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-imports")
    _, notifications = _one(template, "Custom::S3BucketNotifications", BucketName={"Ref": bucket_id})
    rules = notifications["NotificationConfiguration"]["QueueConfigurations"]
    # One rule per suffix: an S3 filter takes one prefix and one suffix
    assert sorted(
        (tuple(r["Events"]), sorted((f["Name"], f["Value"]) for f in r["Filter"]["Key"]["FilterRules"]))
        for r in rules
    ) == [
        (("s3:ObjectCreated:*",), [("prefix", "incoming/"), ("suffix", ".json")]),
        (("s3:ObjectCreated:*",), [("prefix", "incoming/"), ("suffix", ".jsonl")]),
    ]
    assert all(r["QueueArn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for r in rules)
    # And the queue dead-letters after three receives, into a DLQ that alarms to system-alerts
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    dlq_id, _ = _one(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-imports-dlq")
    alerts_id, _ = _one(template, "AWS::SNS::Topic", TopicName=f"{PREFIX}-system-alerts")
    _, alarm = _one(template, "AWS::CloudWatch::Alarm", AlarmName=f"{PREFIX}-imports-dlq-not-empty")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": alerts_id}]
    # And S3 may send to it
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "s3.amazonaws.com"}, "Effect": "Allow"})]
                )
            },
        },
    )


def test_the_importer_reads_incoming_writes_processed_and_puts_on_the_bus(template: Template) -> None:
    function_id, function = _one(template, "AWS::Lambda::Function", FunctionName=f"{PREFIX}-importer")
    assert function["Handler"] == "services.importer.handler.handler"
    assert function["Timeout"] == 900
    # Its layers: Powertools, and ijson built for its runtime
    _, layer = _one(template, "AWS::Lambda::LayerVersion", CompatibleRuntimes=[function["Runtime"]])
    assert layer["Description"].startswith("ijson==")
    assert len(function["Layers"]) == 2
    role_id = function["Role"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = [s for statements in policies for s in statements]
    text = str(statements)
    assert "'s3:GetObject', 's3:GetObjectVersion'" in text and "/incoming/*" in text
    assert "'s3:PutObject'" in text and "/processed/*" in text
    assert "events:PutEvents" in text
    assert "dynamodb:BatchGetItem" in text
    # The visibility timeout leaves the function six times its timeout
    _, queue = _one(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-imports")
    assert queue["VisibilityTimeout"] == 6 * 900
    assert function_id


def test_the_importer_is_paced_and_may_continue_itself(template: Template) -> None:
    # Given the importer function and its role's statements
    _, function = _one(template, "AWS::Lambda::Function", FunctionName=f"{PREFIX}-importer")
    variables = function["Environment"]["Variables"]
    queue_id, _ = _one(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-imports")
    callback_queues = [
        _one(template, "AWS::SQS::Queue", QueueName=f"{PREFIX}-{name}")[0]
        for name in ("inventory.fifo", "payment", "payment-priority.fifo", "shipping")
    ]
    # Then its pace is the deployed default, and it watches every callback queue's backlog
    assert variables["IMPORT_ORDERS_PER_SECOND"] == "10.0"
    assert variables["IMPORT_MAX_QUEUE_BACKLOG"] == "50"
    assert variables["IMPORT_MAX_RUNNING_ORDERS"] == "100"
    workflow_id, _ = _one(
        template, "AWS::StepFunctions::StateMachine", StateMachineName=f"{PREFIX}-{STATE_MACHINE_NAME_SUFFIX}"
    )
    assert variables["ORDER_STATE_MACHINE_ARN"] == {"Ref": workflow_id}
    assert variables["BACKLOG_QUEUE_URLS"] == {"Fn::Join": [",", [{"Ref": q} for q in callback_queues]]}
    assert variables["IMPORT_QUEUE_URL"] == {"Ref": queue_id}
    assert variables["IDEMPOTENCY_TABLE"] == {
        "Ref": _one(template, "AWS::DynamoDB::Table", TableName=f"{PREFIX}-idempotency")[0]
    }
    role_id = function["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]

    def allowed(action: str, resource: Any) -> bool:
        return any(
            action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
            and resource in ([s["Resource"]] if isinstance(s["Resource"], dict) else s["Resource"])
            for s in statements
        )

    # And it may send its continuation to its own queue and read the callback queues' counts
    assert allowed("sqs:SendMessage", {"Fn::GetAtt": [queue_id, "Arn"]})
    assert all(allowed("sqs:GetQueueAttributes", {"Fn::GetAtt": [q, "Arn"]}) for q in callback_queues)
    assert not allowed("sqs:ReceiveMessage", {"Fn::GetAtt": [callback_queues[1], "Arn"]})
    # And count the running orders, on the order workflow only
    assert allowed("states:ListExecutions", {"Ref": workflow_id})
    assert not allowed("states:StartExecution", {"Ref": workflow_id})
