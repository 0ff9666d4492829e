"""S3 → SQS notifications: what moto already does right, and what ``S3Notifications`` corrects.

The first tests run moto alone and pin what we rely on (filters, event matching, the test event); the
``moto_alone_*`` tests pin its gaps (if one fails, moto fixed it and the patch can go); the rest run with
``S3Notifications`` and show the records AWS sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from moto import mock_aws
from pydantic import ValidationError

from localaws.delivery.s3 import S3Notifications
from tests.localaws.support import MOTO_CONFIG

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "imports"
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, str]]:
    """A versioned bucket notifying a queue of incoming/*.json and incoming/*.jsonl, as the stack does."""
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="imports")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {
                                "FilterRules": [
                                    {"Name": "suffix", "Value": suffix},
                                    {"Name": "prefix", "Value": "incoming/"},
                                ]
                            }
                        },
                    }
                    for suffix in (".json", ".jsonl")
                ]
            },
        )
        yield s3, sqs, url


@pytest.fixture
def delivery(clients: tuple[Any, Any, str]) -> Iterator[None]:
    notifications = S3Notifications(invoker=None, region=REGION, account_id=ACCOUNT)
    notifications.start()
    try:
        yield
    finally:
        notifications.stop()


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def object_events(bodies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["eventName"], r["s3"]["object"]["key"]) for b in bodies for r in b.get("Records", [])]


def test_moto_sends_the_test_event_then_only_keys_matching_one_rule(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    # Given the configuration's test event
    assert [b.get("Event") for b in received(sqs, url)] == ["s3:TestEvent"]
    # When objects are put under and outside the prefix, with and without the suffixes
    for key in (
        "incoming/a.json",
        "incoming/b.jsonl",
        "incoming/c.csv",
        "other/d.json",
        "incoming/e.json.bak",
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"[]")
    s3.copy_object(
        Bucket=BUCKET, Key="incoming/f.json", CopySource={"Bucket": BUCKET, "Key": "incoming/a.json"}
    )
    # Then each of the matching ones is announced once, with its event name
    assert object_events(received(sqs, url)) == [
        ("ObjectCreated:Put", "incoming%2Fa.json"),
        ("ObjectCreated:Put", "incoming%2Fb.jsonl"),
        ("ObjectCreated:Copy", "incoming%2Ff.json"),
    ]


def test_moto_alone_sends_a_record_the_documented_model_refuses(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    received(sqs, url)
    s3.put_object(Bucket=BUCKET, Key="incoming/a.json", Body=b"[]")
    (body,) = received(sqs, url)
    with pytest.raises(ValidationError):
        S3Model.model_validate(body)


def _multipart(s3: Any, key: str) -> str:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"[]")
    return str(
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload,
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )["VersionId"]
    )


def test_moto_alone_notifies_a_multipart_upload_twice(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    received(sqs, url)
    _multipart(s3, "incoming/big.jsonl")
    names = [name for name, _ in object_events(received(sqs, url))]
    assert names == ["ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload"]


@pytest.mark.usefixtures("delivery")
def test_records_have_the_shape_aws_documents(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    received(sqs, url)
    # When a versioned object with a space in its name is put
    version = s3.put_object(Bucket=BUCKET, Key="incoming/my file.json", Body=b"[1]")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="incoming/my file.json", Body=b"[2]")
    first, second = received(sqs, url)

    # Then the record parses as Powertools' S3Model and names the object as AWS does
    record = S3Model.model_validate(first).Records[0]
    assert record.eventName == "ObjectCreated:Put"
    assert record.s3.object is not None
    assert record.s3.object.key == "incoming/my+file.json"
    assert record.s3.object.versionId == version
    assert record.s3.bucket.ownerIdentity.principalId == ACCOUNT
    assert record.userIdentity.principalId == f"AWS:{ACCOUNT}"
    # And the sequencer grows from one event of a key to the next
    later = second["Records"][0]["s3"]["object"]["sequencer"]
    assert int(later, 16) > int(first["Records"][0]["s3"]["object"]["sequencer"], 16)


@pytest.mark.usefixtures("delivery")
def test_a_multipart_upload_is_announced_once(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    received(sqs, url)
    version = _multipart(s3, "incoming/big.jsonl")
    (body,) = received(sqs, url)
    record = body["Records"][0]
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert record["s3"]["object"]["versionId"] == version
    # And a plain put afterwards is announced again (the suppression ended with the upload)
    s3.put_object(Bucket=BUCKET, Key="incoming/small.json", Body=b"[]")
    assert object_events(received(sqs, url)) == [("ObjectCreated:Put", "incoming/small.json")]


def test_stopping_restores_moto(clients: tuple[Any, Any, str]) -> None:
    s3, sqs, url = clients
    notifications = S3Notifications(invoker=None, region=REGION, account_id=ACCOUNT)
    notifications.start()
    notifications.stop()
    received(sqs, url)
    s3.put_object(Bucket=BUCKET, Key="incoming/a.json", Body=b"[]")
    (body,) = received(sqs, url)
    assert "userIdentity" not in body["Records"][0]
