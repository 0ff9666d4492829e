"""AWS IAM: roles and policies (moto stores them; permissions are not enforced locally)."""

from __future__ import annotations

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, json_text


def role(request: ResourceRequest) -> DeployedResource:
    """AWS::IAM::Role, with its inline policies (put again on every deploy: an upsert)."""
    props = request.properties
    iam = request.client("iam")
    created: DeployedResource | None = None
    if request.previous is None:
        name = props.get("RoleName") or request.generated_name(64)
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json_text(props["AssumeRolePolicyDocument"]),
            Path=props.get("Path", "/"),
            **({"Description": props["Description"]} if "Description" in props else {}),
        )["Role"]
        created = request.created(
            name, arn=role["Arn"], attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]}
        )
    else:
        name = request.previous.physical_id
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json_text(policy["PolicyDocument"]),
        )
    # ManagedPolicyArns (AWS managed policies) are not loaded in moto; permissions are not enforced locally.
    return created or request.kept()


def policy(request: ResourceRequest) -> DeployedResource:
    """AWS::IAM::Policy: an inline policy put on each of its roles."""
    props = request.properties
    iam = request.client("iam")
    document = json_text(props["PolicyDocument"])
    for role_name in props.get("Roles", []):
        iam.put_role_policy(RoleName=role_name, PolicyName=props["PolicyName"], PolicyDocument=document)
    return request.kept() if request.previous else request.created(props["PolicyName"])


def managed_policy(request: ResourceRequest) -> DeployedResource:
    """AWS::IAM::ManagedPolicy, attached to its roles; a redeploy leaves an existing one as it is."""
    if request.previous is not None:
        return request.kept()
    props = request.properties
    iam = request.client("iam")
    name = props.get("ManagedPolicyName") or request.generated_name(128)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json_text(props["PolicyDocument"]))["Policy"][
        "Arn"
    ]
    for role_name in props.get("Roles", []):
        iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
    return request.created(arn, arn=arn, attributes={"PolicyArn": arn})
