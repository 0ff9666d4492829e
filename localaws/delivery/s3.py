"""S3 event notifications to SQS: moto's delivery, with the event record AWS sends.

What moto already does faithfully (see ``tests/localaws/delivery/test_s3.py``): on PutObject, POST,
CopyObject and CompleteMultipartUpload it matches each queue configuration's events (``s3:ObjectCreated:*``
included) and its one prefix and one suffix filter, and sends the event to the queue; it also sends the
``s3:TestEvent`` when a configuration is set. What it gets wrong is the record: it leaves out
``userIdentity``, ``requestParameters``, ``responseElements``, the bucket's ``ownerIdentity`` and the
object's ``versionId`` and ``sequencer``, which AWS always sends (``versionId`` for a versioned bucket), and
which a consumer parsing the documented shape (Powertools' ``S3Model``) requires; and it URL-encodes the
key's ``/`` (``incoming%2Fa.json``), which AWS leaves as it is (``incoming/a.json``, spaces as ``+``). And on
CompleteMultipartUpload (how ``aws s3 cp`` and boto3's ``upload_file`` send a file over 8 MB) moto notifies
twice: ``ObjectCreated:Put`` from the ``put_object`` it completes with, then
``ObjectCreated:CompleteMultipartUpload``; AWS sends only the second, so one upload would be imported twice.
While an ``S3Notifications`` runs, moto builds each record through ``aws_s3_event`` and completes a
multipart upload with only its own event.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote_plus

from localaws.patches import registry

_GET_S3_EVENT = "moto.s3.notifications._get_s3_event"
_SEND_EVENT = "moto.s3.notifications.send_event"
_COMPLETE_MULTIPART = "moto.s3.models.S3Backend.complete_multipart_upload"
_COMPLETE_EVENT = "s3:ObjectCreated:CompleteMultipartUpload"
registry.register_attributes(
    "moto.s3.models.FakeBucket", ["is_versioned", "account_id"], "the versionId and the owner of a record"
)
registry.register_attributes("moto.s3.models.FakeKey", ["version_id"], "the object version a record names")

# S3's sequencer orders the events of one key: a hexadecimal value that only grows.
_sequence = itertools.count(time.time_ns() // 1000)


def _principal(account_id: str) -> str:
    return f"AWS:{account_id}"


def aws_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
    """The notification AWS sends for ``key`` (documented in "Event message structure", version 2.1)."""
    event = registry.original(_GET_S3_EVENT)(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record["userIdentity"] = {"principalId": _principal(bucket.account_id)}
        record["requestParameters"] = {"sourceIPAddress": "127.0.0.1"}
        record["responseElements"] = {
            "x-amz-request-id": secrets.token_hex(8).upper(),
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode(),
        }
        record["s3"]["bucket"]["ownerIdentity"] = {"principalId": bucket.account_id}
        obj = record["s3"]["object"]
        obj["key"] = quote_plus(key.name, safe="/")
        if bucket.is_versioned:
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{next(_sequence):018X}"
    return event


_completing = threading.local()  # set while this thread completes a multipart upload


def _send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
    # Inside CompleteMultipartUpload only its own event goes out (moto's put_object and tagging add others).
    if (
        getattr(_completing, "active", False)
        and str(getattr(event_name, "value", event_name)) != _COMPLETE_EVENT
    ):
        return
    registry.original(_SEND_EVENT)(account_id, event_name, bucket, key)


def _complete_multipart_upload(backend: Any, *args: Any, **kwargs: Any) -> Any:
    _completing.active = True
    try:
        return registry.original(_COMPLETE_MULTIPART)(backend, *args, **kwargs)
    finally:
        _completing.active = False


_running: registry.PatchesInUse[S3Notifications] = registry.PatchesInUse(
    registry.PatchSet(
        "s3 notifications",
        [
            registry.Patch(_GET_S3_EVENT, aws_s3_event, "S3 event records with every field AWS sends"),
            registry.Patch(_SEND_EVENT, _send_event, "CompleteMultipartUpload notifies once, as on AWS"),
            registry.Patch(
                _COMPLETE_MULTIPART, _complete_multipart_upload, "marks the notifications it sends itself"
            ),
        ],
    )
)


class S3Notifications:
    """Keeps the AWS-shaped S3 event records in while the local AWS runs."""

    def __init__(self, *, invoker: Any, region: str, account_id: str, time_scale: float = 1.0) -> None:
        self._region = region
        self._account_id = account_id

    def start(self) -> None:
        _running.acquire(self, account_id=self._account_id, region=self._region)

    def stop(self) -> None:
        _running.release(self, account_id=self._account_id, region=self._region)
