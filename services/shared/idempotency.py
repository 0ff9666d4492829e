"""Run a piece of work at most once per business key, with Powertools idempotency on DynamoDB.

The persistence layer is created on first use (it builds a boto3 client) and kept per table and key prefix,
because Powertools configures a persistence layer once and ignores later configs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from services.shared import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@functools.cache
def _persistence(table_name: str, key_prefix: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.dynamodb())


def reset_persistence() -> None:
    _persistence.cache_clear()


def run_once(
    work: Callable[[], dict[str, Any]],
    *,
    table_name: str,
    key_prefix: str,
    key: Mapping[str, str],
    expires_after_seconds: int,
    lambda_context: LambdaContext | None = None,
) -> dict[str, Any]:
    """Return ``work()``'s result, computing it only the first time ``key`` is seen.

    A stable ``key_prefix`` (not the function name) keeps keys valid across renames and in the local runtime.
    If ``work`` raises, nothing is stored and a retry runs it again. With the Lambda context registered, a
    record left "in progress" by a crashed invocation expires when that invocation would have timed out.
    """
    config = IdempotencyConfig(expires_after_seconds=expires_after_seconds)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    def once(business_key: dict[str, str]) -> dict[str, Any]:
        return work()

    guarded = idempotent_function(
        once,
        data_keyword_argument="business_key",
        persistence_store=_persistence(table_name, key_prefix),
        config=config,
        key_prefix=key_prefix,
    )
    result: dict[str, Any] = guarded(business_key=dict(key))
    return result
