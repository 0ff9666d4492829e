"""Run a piece of work at most once per business key, with Powertools idempotency on DynamoDB.

The persistence layer is created on first use (it builds a boto3 client) and kept per table and key prefix,
because Powertools configures a persistence layer once and ignores later configs.

An answer is a pydantic model: dumped to store it and validated back into that model on a replay (Powertools'
``PydanticSerializer``), so a replay has the same type as the first answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from services.shared import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

AnswerT = TypeVar("AnswerT", bound=BaseModel)


@functools.cache
def _persistence(table_name: str, key_prefix: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.dynamodb())


def reset_persistence() -> None:
    _persistence.cache_clear()


def run_once(
    work: Callable[[], AnswerT],
    *,
    answer_type: type[AnswerT],
    table_name: str,
    key_prefix: str,
    key: Mapping[str, str],
    expires_after_seconds: int,
    lambda_context: LambdaContext | None = None,
) -> AnswerT:
    """Return ``work()``'s result, computing it only the first time ``key`` is seen.

    ``work`` returns an ``answer_type`` instance, and a replay is validated back into one.
    A stable ``key_prefix`` (not the function name) keeps keys valid across renames and in the local runtime.
    If ``work`` raises, nothing is stored and a retry runs it again. With the Lambda context registered, a
    record left "in progress" by a crashed invocation expires when that invocation would have timed out.
    """
    config = IdempotencyConfig(expires_after_seconds=expires_after_seconds)
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    def once(business_key: dict[str, str]) -> AnswerT:
        return work()

    guarded = idempotent_function(
        once,
        data_keyword_argument="business_key",
        persistence_store=_persistence(table_name, key_prefix),
        config=config,
        # An instance, not the class: Powertools would read the model off the return annotation, and
        # ``once``'s is a type variable, not the model.
        output_serializer=PydanticSerializer(model=answer_type),
        key_prefix=key_prefix,
    )
    return guarded(business_key=dict(key))
