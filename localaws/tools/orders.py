"""Orders as a user places and inspects them: bundled samples, PutEvents, the stocked catalogue, queue peeks.

One implementation for the CLI, the demo, the console and the benchmark.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localaws.endpoint.defaults import DEFAULT_REGION
from services.inventory.dal import seed_stock
from services.shared.contract import EVENT_SOURCE, ORDER_PLACED

if TYPE_CHECKING:
    from localaws.deploy.deployer import DeployReport

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
CATALOGUE_SKUS = tuple(f"SKU-{n}" for n in range(1, 21))
CATALOGUE_UNITS = 1000
# SQS answers at most ten messages to one ReceiveMessage.
_RECEIVE_MAX = 10
# Long enough to read a batch, short enough that a crashed peek frees the messages soon after.
_PEEK_HOLD_SECONDS = 30
_ATTRIBUTE_FIELDS = ("DataType", "StringValue", "BinaryValue")


class OrderError(Exception):
    """An order that cannot be placed as asked: unknown sample, a file that is not JSON, a refused event."""


def sample_names() -> list[str]:
    return sorted(path.stem for path in SAMPLES_DIR.glob("*.json"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        detail: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise OrderError(f"{path}: not JSON ({exc})") from exc
    return detail


def sample(name: str, *, order_id: str | None = None) -> dict[str, Any]:
    """A bundled sample's event detail with ``order_id``, else a fresh id (samples carry none, so that placing
    one twice places two orders)."""
    if name not in sample_names():
        raise OrderError(f"no sample {name!r}; samples: {', '.join(sample_names())}")
    detail = _read_json(SAMPLES_DIR / f"{name}.json")
    detail["orderId"] = order_id or new_order_id()
    return detail


def from_file(path: Path) -> dict[str, Any]:
    """An event detail written by the user; an order without an id gets a fresh one."""
    if not path.is_file():
        raise OrderError(f"{path}: no such file")
    detail = _read_json(path)
    detail.setdefault("orderId", new_order_id())
    return detail


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:12]}"


def order_placed_entry(detail: dict[str, Any], bus: str) -> dict[str, Any]:
    """The PutEvents entry of an ``OrderPlaced`` event, as any producer posts it."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": ORDER_PLACED,
        "Detail": json.dumps(detail),
        "EventBusName": bus,
    }


def put_order(events: Any, detail: dict[str, Any], bus: str) -> str:
    """Post one ``OrderPlaced`` event; returns its event id. A refused entry raises ``OrderError``."""
    response = events.put_events(Entries=[order_placed_entry(detail, bus)])
    entry = response["Entries"][0]
    if response.get("FailedEntryCount"):
        raise OrderError(f"event rejected: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")
    return str(entry["EventId"])


def inventory_table(report: DeployReport) -> str | None:
    """The inventory table, as the deployed inventory function is given it."""
    return next(
        (f.environment["INVENTORY_TABLE"] for f in report.functions if "INVENTORY_TABLE" in f.environment),
        None,
    )


def seed_catalogue(report: DeployReport, region: str = DEFAULT_REGION) -> str | None:
    """Stock ``CATALOGUE_SKUS`` with ``CATALOGUE_UNITS`` each; the table, or None when none is deployed.

    ``seed_stock`` builds its client as a handler does, from the environment; moto serves it in-process.
    """

    table = inventory_table(report)
    if table is None:
        return None
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    seed_stock(table, CATALOGUE_SKUS, CATALOGUE_UNITS)
    return table


def message_attributes(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        key: {field: value[field] for field in _ATTRIBUTE_FIELDS if field in value}
        for key, value in message.get("MessageAttributes", {}).items()
    }


def peek_messages(sqs: Any, queue_name: str, *, limit: int = _RECEIVE_MAX) -> list[dict[str, Any]]:
    """Messages waiting in a queue, left there (each peek still counts as one receive).

    Received with a visibility timeout and released one by one, not received with ``VisibilityTimeout=0``:
    that would also free a FIFO group for the next consumer while the peek still holds its messages.
    """
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    received = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=min(limit, _RECEIVE_MAX),
        VisibilityTimeout=_PEEK_HOLD_SECONDS,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    for message in received:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return [
        {
            "messageId": message["MessageId"],
            "body": message.get("Body"),
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message_attributes(message),
        }
        for message in received
    ]
