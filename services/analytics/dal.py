"""The analytics table (DynamoDB): aggregate rows updated with atomic ADDs, each event counted once."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from services.analytics.models import AggregateIncrement
from services.shared import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# Key prefix of the "already counted" markers in the idempotency table (the one Powertools used before).
MARKER_KEY_PREFIX = "analytics"


def marker_id(event_key: dict[str, str]) -> str:
    """The idempotency table id of an event's marker.

    Same format as Powertools idempotency (``<prefix>#md5(sorted JSON)``), which these markers replace: an
    event counted before the change is still recognised when it is replayed.
    """
    digest = hashlib.md5(json.dumps(event_key, sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    return f"{MARKER_KEY_PREFIX}#{digest}"


class DynamoDBAggregates:
    def __init__(self, table_name: str, *, idempotency_table: str, marker_ttl_seconds: int) -> None:
        self._table = table_name
        self._idempotency_table = idempotency_table
        self._marker_ttl_seconds = marker_ttl_seconds

    def apply_once(self, event_key: dict[str, str], increments: list[AggregateIncrement]) -> bool:
        """Add all increments and mark the event counted, in one transaction; False if it was counted already.

        The marker is a conditional put in the same ``TransactWriteItems`` as the increments, so either the
        event is marked and every aggregate moves, or nothing changes: a replay finds the marker and the
        whole transaction is cancelled. An expired marker (past its TTL, not yet deleted) counts as absent.
        """
        now = int(time.time())
        items: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._idempotency_table,
                    "Item": {
                        "id": {"S": marker_id(event_key)},
                        "expiration": {"N": str(now + self._marker_ttl_seconds)},
                        "status": {"S": "COMPLETED"},
                    },
                    "ConditionExpression": "attribute_not_exists(#id) OR #expiration < :now",
                    "ExpressionAttributeNames": {"#id": "id", "#expiration": "expiration"},
                    "ExpressionAttributeValues": {":now": {"N": str(now)}},
                }
            }
        ]
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
        try:
            aws.dynamodb().transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _marker_existed(exc):
                return False
            raise
        return True


def _marker_existed(exc: ClientError) -> bool:
    """The transaction was cancelled only because the marker (its first item) failed its condition."""
    if aws.error_code(exc) != "TransactionCanceledException":
        return False
    reasons = exc.response.get("CancellationReasons") or []
    return (
        bool(reasons)
        and reasons[0].get("Code") == "ConditionalCheckFailed"
        and all(reason.get("Code") in (None, "None") for reason in reasons[1:])
    )
