"""Custom::S3BucketNotifications: the CDK's custom resource that sets a bucket's event notifications.

On AWS a singleton Lambda of the CDK's (``BucketNotificationsHandler…``) receives the resource's properties
and calls PutBucketNotificationConfiguration. Locally the deployer makes the same call from the same
properties, read from the template: custom resource providers do not run here (there is no CloudFormation
to answer), and this one does nothing else.
"""

from __future__ import annotations

from typing import Any

from localaws.deploy.model import DeployedResource
from localaws.deploy.resources.base import ResourceRequest

CONFIGURATION_TYPES = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")
EVENTBRIDGE_CONFIGURATION = "EventBridgeConfiguration"


def _merged(current: dict[str, Any], ours: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``Managed: false`` (an imported bucket): keep the configurations someone else set, as the CDK does."""
    merged: dict[str, Any] = {}
    for kind in CONFIGURATION_TYPES:
        before = previous.get(kind, [])
        external = [
            c for c in current.get(kind, []) if {k: v for k, v in c.items() if k != "Id"} not in before
        ]
        merged[kind] = external + ours.get(kind, [])
    if EVENTBRIDGE_CONFIGURATION in ours or EVENTBRIDGE_CONFIGURATION in current:
        merged[EVENTBRIDGE_CONFIGURATION] = ours.get(
            EVENTBRIDGE_CONFIGURATION, current.get(EVENTBRIDGE_CONFIGURATION)
        )
    return {k: v for k, v in merged.items() if v}


def bucket_notifications(request: ResourceRequest) -> DeployedResource:
    """Custom::S3BucketNotifications: the bucket's notification configuration, replaced or merged."""
    props = request.properties
    bucket = props["BucketName"]
    s3 = request.client("s3")
    configuration: dict[str, Any] = props.get("NotificationConfiguration", {})
    if str(props.get("Managed", "true")).lower() != "true":
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        previous = (
            request.previous.properties.get("NotificationConfiguration", {}) if request.previous else {}
        )
        configuration = _merged(current, configuration, previous)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration=configuration,
        SkipDestinationValidation=str(props.get("SkipDestinationValidation", "false")).lower() == "true",
    )
    if request.previous is not None:
        return request.kept()
    return request.created(f"{bucket}-notifications")
