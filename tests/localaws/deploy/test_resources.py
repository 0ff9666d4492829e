"""The resource handler table and the request every handler gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaws.deploy.assembly import StackArtifact
from localaws.deploy.deployer import TemplateDeployer
from localaws.deploy.resources import HANDLERS, NO_LOCAL_MEANING, ResourceRequest, not_deployed_reason


def test_a_type_is_either_handled_or_listed_with_a_reason() -> None:
    # Given / When / Then: no type is both deployed and knowingly left out
    assert not set(HANDLERS) & set(NO_LOCAL_MEANING)
    assert not_deployed_reason("AWS::CDK::Metadata") == "CDK bookkeeping"
    assert not_deployed_reason("Custom::Anything") == "custom resource providers do not run locally"
    assert not_deployed_reason("AWS::Unknown::Thing") == "unsupported locally"


def test_a_request_records_what_it_created_in_full(tmp_path: Path) -> None:
    # Given a request for a new queue
    deployer = TemplateDeployer(region="us-east-1", account_id="123456789012", run_dir=tmp_path)
    stack = StackArtifact("HandStack", {}, tmp_path, {}, ())
    properties = {"QueueName": "q"}
    request = ResourceRequest(deployer, stack, "AWS::SQS::Queue", "Queue", properties, previous=None)

    # When the handler records what it created
    resource = request.created("url", arn="arn", attributes={"Arn": "arn"})

    # Then nothing is left for the deployer to fill in; and there is nothing to keep
    assert (resource.stack, resource.logical_id, resource.type) == ("HandStack", "Queue", "AWS::SQS::Queue")
    assert (resource.physical_id, resource.arn, resource.properties) == ("url", "arn", properties)
    assert request.generated_name(80, ".fifo").startswith("HandStack-Queue-")
    with pytest.raises(ValueError, match="never deployed"):
        request.kept()


def test_a_kept_resource_records_the_new_properties(tmp_path: Path) -> None:
    # Given a request to update a deployed queue
    deployer = TemplateDeployer(region="us-east-1", account_id="123456789012", run_dir=tmp_path)
    stack = StackArtifact("HandStack", {}, tmp_path, {}, ())
    first = ResourceRequest(deployer, stack, "AWS::SQS::Queue", "Queue", {"DelaySeconds": 1}, None).created(
        "url"
    )
    update = ResourceRequest(deployer, stack, "AWS::SQS::Queue", "Queue", {"DelaySeconds": 2}, previous=first)

    # When the handler keeps it
    kept = update.kept()

    # Then it is the same record (same Ref), now carrying the properties deployed last
    assert kept is first
    assert kept.properties == {"DelaySeconds": 2}
