"""Amazon S3: buckets and bucket policies."""

from __future__ import annotations

import json
from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, generated_name


def _apply_settings(s3: Any, name: str, props: dict[str, Any]) -> None:
    """The settings a handler can see: versioning (reports name the version they are about), encryption,
    public access. Lifecycle rules are left out: nothing ages locally for them to act on."""
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    if "BucketEncryption" in props:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in rule.items()
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )


def bucket(request: ResourceRequest) -> DeployedResource:
    """AWS::S3::Bucket; a redeploy applies the settings again to the same bucket."""
    props = request.properties
    s3 = request.client("s3")
    if request.previous is not None:
        _apply_settings(s3, request.previous.physical_id, props)
        return request.kept()
    # Bucket names are lower case, so the generated name is too.
    name = props.get("BucketName") or generated_name(
        request.stack.name.lower(), request.logical_id.lower(), 63
    )
    if request.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": request.region})
    _apply_settings(s3, name, props)
    arn = f"arn:aws:s3:::{name}"
    return request.created(
        name,
        arn=arn,
        attributes={
            "Arn": arn,
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{request.region}.amazonaws.com",
        },
    )


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def bucket_policy(request: ResourceRequest) -> DeployedResource:
    """AWS::S3::BucketPolicy: an upsert of the bucket's policy, without its TLS-only deny.

    moto applies bucket policies to object requests, and the local endpoint speaks plain HTTP on loopback:
    ``enforce_ssl``'s deny would refuse every request. The rest of the policy applies as written.
    """
    props = request.properties
    document = props["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else dict(document)
    statements = document.get("Statement", [])
    document["Statement"] = [
        s for s in (statements if isinstance(statements, list) else [statements]) if not _denies_plain_http(s)
    ]
    s3 = request.client("s3")
    if document["Statement"]:
        s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    elif request.previous is not None:
        s3.delete_bucket_policy(Bucket=props["Bucket"])
    return request.kept() if request.previous else request.created(f"{props['Bucket']}-policy")
