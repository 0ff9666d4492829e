"""The analytics table (DynamoDB): aggregate rows updated with atomic ADDs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.analytics.models import AggregateIncrement
from services.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class DynamoDBAggregates:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def apply(self, increments: list[AggregateIncrement]) -> None:
        items: list[TransactWriteItemTypeDef] = []
        for increment in increments:
            expression = "ADD #count :count"
            values = {":count": {"N": str(increment.count)}}
            names = {"#count": "count"}
            if increment.amount is not None:
                expression += ", #amount :amount"
                values[":amount"] = {"N": str(increment.amount)}
                names["#amount"] = "amount"
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"pk": {"S": increment.pk}, "sk": {"S": increment.sk}},
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        aws.dynamodb().transact_write_items(TransactItems=items)
