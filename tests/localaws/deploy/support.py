"""Hand-written cloud assemblies for the deploy tests: a manifest and one template, as cdk synth writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"


def write_assembly(cdk_out: Path, template: dict[str, Any], stack: str = "HandStack") -> Path:
    cdk_out.mkdir(parents=True, exist_ok=True)
    (cdk_out / f"{stack}.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            stack: {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": f"{stack}.template.json"},
            }
        },
    }
    (cdk_out / "manifest.json").write_text(json.dumps(manifest))
    return cdk_out


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


# Intrinsics, conditions and types with no local meaning, in one stack.
INTRINSICS_TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "BootstrapVersion": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/cdk-bootstrap/hnb659fds/version",
        },
        "Stage": {"Type": "String", "Default": "local"},
    },
    "Conditions": {
        "IsLocal": {"Fn::Equals": [{"Ref": "Stage"}, "local"]},
        "IsProd": {"Fn::Not": [{"Condition": "IsLocal"}]},
    },
    "Resources": {
        # Declared before the queue it refers to: the deployer must order by dependency.
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": {
                    "Fn::Sub": [
                        "${Base}-${AWS::Region}-${Zone}",
                        {
                            "Base": {
                                "Fn::Select": [
                                    0,
                                    {"Fn::Split": [".", {"Fn::GetAtt": ["Queue", "QueueName"]}]},
                                ]
                            },
                            "Zone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                        },
                    ]
                },
                "KmsMasterKeyId": {"Ref": "AWS::NoValue"},
            },
        },
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::If": ["IsLocal", "hand-local.fifo", "hand-prod.fifo"]},
                "FifoQueue": True,
                # The prod branch differs from SQS's default (30), so taking it would show.
                "VisibilityTimeout": {"Fn::If": ["IsProd", 45, {"Ref": "AWS::NoValue"}]},
            },
        },
        "ProdOnly": {"Type": "AWS::SQS::Queue", "Condition": "IsProd", "Properties": {}},
        "Metadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:xyz"}},
        "Registry": {"Type": "AWS::EventSchemas::Registry", "Properties": {"RegistryName": "orderflow"}},
        "Strange": {"Type": "AWS::Unknown::Thing", "Properties": {}},
        "Param": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Type": "String",
                "Value": {
                    "Fn::Sub": "${Topic}|${!Literal}|${AWS::AccountId}|${AWS::Partition}|${AWS::StackName}"
                },
            },
        },
    },
    "Outputs": {
        "TopicArn": {"Value": {"Ref": "Topic"}},
        "Joined": {"Value": {"Fn::Join": [",", ["a", {"Ref": "Stage"}]]}},
    },
}
