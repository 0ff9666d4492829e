"""boto3 clients, created on first use, and the error code of a call that failed.

Creating them lazily means AWS_ENDPOINT_URL and the region, when set before the first call (by the local
runtime or a test), are honoured; caching keeps one client per process as Lambda best practice wants.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient


@functools.cache
def cloudwatch() -> CloudWatchClient:
    return boto3.client("cloudwatch")


@functools.cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb")


@functools.cache
def events() -> EventBridgeClient:
    return boto3.client("events")


@functools.cache
def s3() -> S3Client:
    return boto3.client("s3")


@functools.cache
def sns() -> SNSClient:
    return boto3.client("sns")


@functools.cache
def sqs() -> SQSClient:
    return boto3.client("sqs")


@functools.cache
def stepfunctions() -> SFNClient:
    return boto3.client("stepfunctions")


def error_code(exc: ClientError) -> str | None:
    """The service's error code (``ConditionalCheckFailedException``, ...), if the response has one."""
    return exc.response.get("Error", {}).get("Code")


def reset_clients() -> None:
    """Forget the cached clients, e.g. after the endpoint or region changed."""
    for factory in (cloudwatch, dynamodb, events, s3, sns, sqs, stepfunctions):
        factory.cache_clear()
