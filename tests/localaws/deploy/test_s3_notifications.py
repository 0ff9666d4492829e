"""Buckets, bucket policies and Custom::S3BucketNotifications, deployed from a template as the CDK emits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localaws.deploy.deployer import TemplateDeployer
from tests.localaws.deploy.support import client, write_assembly


def _template(*, managed: bool = True, suffixes: tuple[str, ...] = (".json", ".jsonl")) -> dict[str, Any]:
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "imports"}},
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": "imports-bucket",
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                },
            },
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": "Bucket"},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}],
                            },
                            {
                                "Action": "s3:GetObject",
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                "Resource": "arn:aws:s3:::imports-bucket/*",
                            },
                        ],
                    },
                },
            },
            "BucketNotifications": {
                "Type": "Custom::S3BucketNotifications",
                "Properties": {
                    "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:not-run-locally",
                    "BucketName": {"Ref": "Bucket"},
                    "NotificationConfiguration": {
                        "QueueConfigurations": [
                            {
                                "Events": ["s3:ObjectCreated:*"],
                                "Filter": {
                                    "Key": {
                                        "FilterRules": [
                                            {"Name": "suffix", "Value": suffix},
                                            {"Name": "prefix", "Value": "incoming/"},
                                        ]
                                    }
                                },
                                "QueueArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                            }
                            for suffix in suffixes
                        ]
                    },
                    "Managed": "true" if managed else "false",
                },
            },
        }
    }


def _rules() -> list[tuple[str, ...]]:
    configuration = client("s3").get_bucket_notification_configuration(Bucket="imports-bucket")
    return sorted(
        tuple(f"{r['Name']}={r['Value']}" for r in sorted(c["Filter"]["Key"]["FilterRules"], key=str))
        for c in configuration.get("QueueConfigurations", [])
    )


def test_the_notifications_of_the_template_are_set_on_the_bucket(
    deployer: TemplateDeployer, tmp_path: Path
) -> None:
    # When the template is deployed
    report = deployer.deploy(write_assembly(tmp_path / "out", _template()))

    # Then the custom resource is deployed, not listed as having no local meaning
    assert "HandStack/BucketNotifications" in report.created
    assert not [n for n in report.not_deployed if n.logical_id == "BucketNotifications"]
    # And the bucket notifies the queue for both rules, each with its one prefix and suffix
    assert _rules() == [("prefix=incoming/", "suffix=.json"), ("prefix=incoming/", "suffix=.jsonl")]
    # And the bucket has its settings
    s3 = client("s3")
    assert s3.get_bucket_versioning(Bucket="imports-bucket")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="imports-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_public_access_block(Bucket="imports-bucket")["PublicAccessBlockConfiguration"][
        "BlockPublicAcls"
    ]


def test_the_bucket_policy_keeps_all_but_the_tls_only_deny(
    deployer: TemplateDeployer, tmp_path: Path
) -> None:
    deployer.deploy(write_assembly(tmp_path / "out", _template()))
    policy = json.loads(client("s3").get_bucket_policy(Bucket="imports-bucket")["Policy"])
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow"]
    # And plain-HTTP requests (all the local endpoint takes) still reach the bucket
    client("s3").put_object(Bucket="imports-bucket", Key="incoming/a.json", Body=b"[]")


def test_a_redeploy_replaces_a_managed_configuration(deployer: TemplateDeployer, tmp_path: Path) -> None:
    deployer.deploy(write_assembly(tmp_path / "one", _template()))
    deployer.deploy(write_assembly(tmp_path / "two", _template(suffixes=(".ndjson",))))
    assert _rules() == [("prefix=incoming/", "suffix=.ndjson")]


def test_an_unmanaged_configuration_keeps_what_others_set(deployer: TemplateDeployer, tmp_path: Path) -> None:
    # Given a bucket whose owner already set a notification of their own
    deployer.deploy(write_assembly(tmp_path / "one", _template(suffixes=())))
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:imports"
    client("s3").put_bucket_notification_configuration(
        Bucket="imports-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "theirs/"}]}},
                }
            ]
        },
    )
    # When the stack's notifications are deployed as unmanaged
    deployer.deploy(write_assembly(tmp_path / "two", _template(managed=False, suffixes=(".json",))))
    # Then theirs stays beside ours
    assert _rules() == [("prefix=incoming/", "suffix=.json"), ("prefix=theirs/",)]
