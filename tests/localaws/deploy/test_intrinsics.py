"""Intrinsic functions: resolved against what is deployed so far, as CloudFormation would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localaws.deploy.assembly import StackArtifact
from localaws.deploy.deployer import TemplateDeployer
from localaws.deploy.intrinsics import StackContext, references
from localaws.deploy.model import DeployedResource, TemplateError
from tests.localaws.deploy.support import INTRINSICS_TEMPLATE, REGION, client, write_assembly


def _context(tmp_path: Path, template: dict[str, Any]) -> StackContext:
    # No AWS call is made while resolving, so no moto is needed.
    deployer = TemplateDeployer(region=REGION, account_id="123456789012", run_dir=tmp_path)
    return StackContext(deployer, StackArtifact("HandStack", template, tmp_path, {}, ()))


def test_intrinsics_conditions_and_dependency_order(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given a template using Sub (both forms), Select, Split, GetAZs, If, conditions and NoValue
    cdk_out = write_assembly(tmp_path / "cdk.out", INTRINSICS_TEMPLATE)

    # When it is deployed
    report = deployer.deploy(cdk_out)

    # Then every intrinsic resolved as CloudFormation would
    assert report.resource("Queue").attributes["QueueName"] == "hand-local.fifo"
    topic_arn = report.outputs["HandStack"]["TopicArn"]
    assert topic_arn == "arn:aws:sns:us-east-1:123456789012:hand-local-us-east-1-us-east-1b"
    parameter = client("ssm").get_parameter(Name=report.resource("Param").physical_id)["Parameter"]["Value"]
    assert parameter == f"{topic_arn}|${{Literal}}|123456789012|aws|HandStack"
    assert report.outputs["HandStack"]["Joined"] == "a,local"
    visibility = client("sqs").get_queue_attributes(
        QueueUrl=report.resource("Queue").physical_id, AttributeNames=["VisibilityTimeout"]
    )
    assert visibility["Attributes"]["VisibilityTimeout"] == "30"  # NoValue → the AWS default, not prod's 45


def test_functions_on_values_resolve_without_a_deploy(tmp_path: Path) -> None:
    # Given a stack with a mapping, and an export from an earlier stack
    ctx = _context(tmp_path, {"Mappings": {"Sizes": {"small": {"memory": 128}}}})
    ctx.deployer.exports["Shared-Bus"] = "bus-arn"

    # When / Then: each function gives CloudFormation's answer
    assert ctx.resolve({"Fn::FindInMap": ["Sizes", "small", "memory"]}) == 128
    assert ctx.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert ctx.resolve({"Fn::ToJsonString": {"a": [1]}}) == '{"a": [1]}'
    assert ctx.resolve({"Fn::And": [True, {"Fn::Or": [False, True]}]}) is True
    assert ctx.resolve({"Fn::Contains": [["a", "b"], "b"]}) is True
    assert ctx.resolve({"Fn::ImportValue": "Shared-Bus"}) == "bus-arn"
    assert ctx.resolve([1, {"Ref": "AWS::NoValue"}, {"Fn::Select": [0, {"Fn::Split": ["/", "x/y"]}]}]) == [
        1,
        "x",
    ]
    assert ctx.resolve({"A": {"Ref": "AWS::URLSuffix"}, "B": {"Ref": "AWS::NoValue"}}) == {
        "A": "amazonaws.com"
    }


def test_what_is_not_deployed_resolves_to_a_placeholder(tmp_path: Path) -> None:
    # Given a stack where Queue is deployed without a QueueUrl attribute, and Missing is not deployed
    ctx = _context(tmp_path, {})
    ctx.resources["Queue"] = DeployedResource("HandStack", "Queue", "AWS::SQS::Queue", "url", attributes={})

    # When / Then: Ref gives the physical id; what is missing becomes a recognisable placeholder ARN
    assert ctx.resolve({"Ref": "Queue"}) == "url"
    assert ctx.resolve({"Fn::GetAtt": "Queue.QueueUrl"}).endswith("not-deployed/HandStack/Queue/QueueUrl")
    assert ctx.resolve({"Ref": "Missing"}).endswith("not-deployed/HandStack/Missing/Ref")
    assert "not-deployed/HandStack/Nope/ImportValue" in ctx.resolve({"Fn::ImportValue": "Nope"})
    with pytest.raises(TemplateError, match="AWS::Nothing"):
        ctx.resolve({"Ref": "AWS::Nothing"})


def test_references_name_what_a_resource_must_wait_for() -> None:
    # Given properties that refer to other resources in every way a template can
    properties = {
        "A": {"Ref": "Queue"},
        "B": [{"Fn::GetAtt": ["Topic", "TopicArn"]}, {"Fn::GetAtt": "Table.Arn"}],
        "C": {"Fn::Sub": ["${Bus.Arn}/${Local}/${!Literal}", {"Local": "x"}]},
    }

    # When / Then: the local Sub variable and the ${!...} literal are not references
    assert sorted(references(properties)) == ["Bus", "Queue", "Table", "Topic"]
