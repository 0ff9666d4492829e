"""DynamoDB from moto, picked with ``PROVIDER_OVERRIDE_DYNAMODB=moto``.

LocalStack's own DynamoDB runs DynamoDB Local, which it downloads (a Java runtime and a jar) at first use;
with package registries only, that download fails. moto ships inside LocalStack's runtime, and
``MotoFallbackDispatcher`` is how LocalStack itself serves services from moto (ACM, API Gateway, ...): an
empty provider with it answers every DynamoDB operation from moto's backend. It is registered under the
``localstack.aws.provider`` entry point in ``pyproject.toml``, the way LocalStack finds its own providers.
"""

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.moto import MotoFallbackDispatcher
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """Every operation falls through to moto."""


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)
