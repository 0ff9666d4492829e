"""The template deployer: a synthesized cloud assembly becomes resources in moto."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from localaws.deploy.deployer import DeployReport, TemplateDeployer
from localaws.local_aws import LocalAws
from tests.localaws.deploy.support import INTRINSICS_TEMPLATE, client, write_assembly

# -- the CDK fixture app ------------------------------------------------------------------------------


def test_fifo_queue_without_a_name_keeps_the_fifo_suffix(local_aws: LocalAws) -> None:
    # Given the fixture app's FIFO queues, which have no QueueName
    queues = [r for r in local_aws.report.of_type("AWS::SQS::Queue") if r.logical_id.startswith("Work")]

    # Then CloudFormation-style names were generated, ending in .fifo, and the queues are FIFO
    assert len(queues) == 2
    sqs = local_aws.client("sqs")
    for queue in queues:
        assert queue.attributes["QueueName"].startswith("FixtureStack-Work")
        assert queue.attributes["QueueName"].endswith(".fifo")
        attributes = sqs.get_queue_attributes(QueueUrl=queue.physical_id, AttributeNames=["All"])[
            "Attributes"
        ]
        assert attributes["FifoQueue"] == "true"


def test_redrive_policy_points_at_the_dlq(local_aws: LocalAws) -> None:
    # Given the work queue with a DLQ (maxReceiveCount 3)
    work = local_aws.report.resource("WorkQueue94013F35")
    dlq = local_aws.report.resource("WorkDlqEFF57BC6")

    # When its attributes are read over HTTP
    attributes = local_aws.client("sqs").get_queue_attributes(
        QueueUrl=work.physical_id, AttributeNames=["All"]
    )["Attributes"]

    # Then the redrive policy and visibility timeout come from the template
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 3}
    assert attributes["VisibilityTimeout"] == "120"


def test_rule_on_the_custom_bus_targets_the_state_machine(local_aws: LocalAws) -> None:
    # Given the fixture's rule on bus fixture-orders
    events = local_aws.client("events")
    machine = local_aws.report.of_type("AWS::StepFunctions::StateMachine")[0]

    # When the bus's rules and targets are listed
    rules = events.list_rules(EventBusName="fixture-orders", NamePrefix="FixtureStack-OnOrder")["Rules"]
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"], EventBusName="fixture-orders")["Targets"]

    # Then the rule has the template's pattern and targets the state machine with the events role
    assert len(rules) == 1
    assert json.loads(rules[0]["EventPattern"]) == {
        "detail-type": ["OrderPlaced"],
        "source": ["orderflow.orders"],
    }
    assert [t["Arn"] for t in targets] == [machine.arn]
    assert targets[0]["RoleArn"].startswith("arn:aws:iam::123456789012:role/FixtureStack-FlowEventsRole")


def test_state_machine_definition_from_fn_join_names_the_function(local_aws: LocalAws) -> None:
    # Given the state machine, whose DefinitionString is a Fn::Join around the function's GetAtt Arn
    machine = local_aws.report.of_type("AWS::StepFunctions::StateMachine")[0]
    function = local_aws.report.resource("DemoFunctionF0F3B7EA")

    # When its definition is read back
    definition = json.loads(
        local_aws.client("stepfunctions").describe_state_machine(stateMachineArn=machine.arn)["definition"]
    )

    # Then the intrinsic was resolved to the deployed function's ARN
    assert definition["States"]["Charge"]["Resource"] == function.arn


def test_sqs_event_source_mapping_and_alarm_exist(local_aws: LocalAws) -> None:
    # Given the fixture's SQS → Lambda mapping and the DLQ alarm
    other = local_aws.report.resource("OtherFunctionD99987D4")
    named = local_aws.report.resource("NamedQueue2D908F80")

    # When they are read through the APIs
    mappings = local_aws.client("lambda").list_event_source_mappings(FunctionName=other.physical_id)[
        "EventSourceMappings"
    ]
    alarms = local_aws.client("cloudwatch").describe_alarms()["MetricAlarms"]

    # Then the mapping has the template's settings and the alarm its dimension and action
    assert [(m["EventSourceArn"], m["BatchSize"]) for m in mappings] == [(named.arn, 5)]
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    alarm = next(a for a in alarms if a["AlarmName"].startswith("FixtureStack-DlqAlarm"))
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": local_aws.report.resource("WorkDlqEFF57BC6").attributes["QueueName"]}
    ]
    assert alarm["AlarmActions"] == [local_aws.report.of_type("AWS::SNS::Topic")[0].arn]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_global_table_ttl_and_subscription_filter(local_aws: LocalAws) -> None:
    # Given the TableV2 (AWS::DynamoDB::GlobalTable) with TTL and the filtered raw SNS→SQS subscription
    table = local_aws.report.resource("LedgerB7379752")
    subscription = local_aws.report.of_type("AWS::SNS::Subscription")[0]

    # When they are described
    ttl = local_aws.client("dynamodb").describe_time_to_live(TableName=table.physical_id)[
        "TimeToLiveDescription"
    ]
    attributes = local_aws.client("sns").get_subscription_attributes(SubscriptionArn=subscription.arn)[
        "Attributes"
    ]

    # Then both carry the template's settings
    assert ttl == {"AttributeName": "ttl", "TimeToLiveStatus": "ENABLED"}
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == {"status": ["PAID"]}


def test_outputs_and_functions_are_reported(local_aws: LocalAws) -> None:
    # Given the deploy report of the fixture app
    report = local_aws.report

    # Then outputs are resolved, and the functions know their code asset directory
    outputs = report.outputs["FixtureStack"]
    assert outputs["WorkQueueUrl"] == report.resource("WorkQueue94013F35").physical_id
    assert outputs["TableArn"] == report.resource("LedgerB7379752").arn
    demo = next(f for f in report.functions if f.handler == "services.demo.handler.handler")
    assert (demo.code_dir / "services" / "demo" / "handler.py").is_file()
    assert demo.environment["QUEUE_URL"] == report.resource("NamedQueue2D908F80").physical_id


# -- hand-written templates (intrinsics, listing, redeploy) --------------------------------------------


def test_resources_without_local_meaning_are_listed_by_name(
    deployer: TemplateDeployer, tmp_path: Path
) -> None:
    # Given a template with CDK metadata, a schema registry, an unknown type and a false condition
    cdk_out = write_assembly(tmp_path / "cdk.out", INTRINSICS_TEMPLATE)

    # When it is deployed
    report = deployer.deploy(cdk_out)

    # Then each is listed, with its type and a reason; none is silently dropped
    listed = {item.logical_id: (item.type, item.reason) for item in report.not_deployed}
    assert listed["Metadata"] == ("AWS::CDK::Metadata", "CDK bookkeeping")
    assert listed["Registry"][0] == "AWS::EventSchemas::Registry"
    assert listed["Strange"] == ("AWS::Unknown::Thing", "unsupported locally")
    assert "IsProd" in listed["ProdOnly"][1]
    assert "ProdOnly" not in {r.logical_id for r in report.resources.values()}


def test_redeploy_creates_only_what_is_new(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given a deployed template with one queue
    template: dict[str, Any] = {"Resources": {"First": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
    cdk_out = write_assembly(tmp_path / "cdk.out", template)
    first = deployer.deploy(cdk_out)
    first_url = first.resource("First").physical_id

    # When a queue is added to the template and it is deployed again
    template["Resources"]["Added"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "added-later"}}
    write_assembly(cdk_out, template)
    second = deployer.deploy(cdk_out)

    # Then only the new queue was created; the first kept its physical id
    assert second.created == ["HandStack/Added"]
    assert second.resource("First").physical_id == first_url
    urls = [u for u in client("sqs").list_queues()["QueueUrls"] if "HandStack" in u or "added" in u]
    assert sorted(urls) == sorted([first_url, second.resource("Added").physical_id])
    assert urls[-1].endswith("/added-later") or urls[0].endswith("/added-later")


def test_changed_properties_are_updated_on_redeploy(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given a deployed queue with a 30 s visibility timeout
    template: dict[str, Any] = {
        "Resources": {"Work": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}
    }
    cdk_out = write_assembly(tmp_path / "cdk.out", template)
    url = deployer.deploy(cdk_out).resource("Work").physical_id

    # When the template changes the timeout and is redeployed
    template["Resources"]["Work"]["Properties"]["VisibilityTimeout"] = 90
    write_assembly(cdk_out, template)
    report = deployer.deploy(cdk_out)

    # Then the queue is updated in place
    assert report.updated == ["HandStack/Work"]
    attributes = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "90"


def test_running_local_aws_redeploys_after_a_synth(tmp_path: Path) -> None:
    # Given a running LocalAws watching its cdk.out
    template: dict[str, Any] = {
        "Resources": {"First": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "first"}}}
    }
    cdk_out = write_assembly(tmp_path / "cdk.out", template)
    redeployed: list[DeployReport] = []
    with LocalAws(cdk_out=cdk_out, port=0, run_dir=tmp_path / "run") as local:
        local.on_redeploy.append(redeployed.append)

        # When a new synth adds a queue
        time.sleep(1.1)  # coarse file-system mtimes must differ
        template["Resources"]["Added"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "added"}}
        write_assembly(cdk_out, template)
        deadline = time.monotonic() + 10
        while not redeployed and time.monotonic() < deadline:
            time.sleep(0.1)

        # Then the queue exists, with no restart
        assert redeployed and redeployed[0].created == ["HandStack/Added"]
        assert local.client("sqs").get_queue_url(QueueName="added")["QueueUrl"].endswith("/added")


def _inline_function(role: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"},
            "Handler": "index.handler",
            "Runtime": "python3.13",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
        },
    }


def test_the_providers_of_custom_resources_are_reported(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given a function that provides a custom resource (its ServiceToken), and one that provides none
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        },
    }
    template: dict[str, Any] = {
        "Resources": {
            "Role": role,
            "Provider": _inline_function("Role"),
            "Worker": _inline_function("Role"),
            "Thing": {
                "Type": "Custom::Thing",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}},
            },
        }
    }

    # When the template is deployed
    report = deployer.deploy(write_assembly(tmp_path / "cdk.out", template))

    # Then the provider is named as one (LocalAws starts no worker for it until it is invoked), the other not
    assert report.custom_resource_providers == {report.resource("Provider").arn}
    assert {f.arn for f in report.functions} == {
        report.resource("Provider").arn,
        report.resource("Worker").arn,
    }
