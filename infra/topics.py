"""SNS topics: KMS-encrypted, TLS only."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


def topic(
    scope: Construct, construct_id: str, *, topic_name: str, key: kms.IKey, display_name: str
) -> sns.Topic:
    return sns.Topic(
        scope,
        construct_id,
        topic_name=topic_name,
        display_name=display_name,
        master_key=key,
        enforce_ssl=True,
    )
