"""Amazon S3: buckets."""

from __future__ import annotations

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest, generated_name


def bucket(request: ResourceRequest) -> DeployedResource:
    """AWS::S3::Bucket; a redeploy leaves an existing bucket as it is."""
    if request.previous is not None:
        return request.kept()
    # Bucket names are lower case, so the generated name is too.
    name = request.properties.get("BucketName") or generated_name(
        request.stack.name.lower(), request.logical_id.lower(), 63
    )
    s3 = request.client("s3")
    if request.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": request.region})
    arn = f"arn:aws:s3:::{name}"
    return request.created(name, arn=arn, attributes={"Arn": arn, "DomainName": f"{name}.s3.amazonaws.com"})
