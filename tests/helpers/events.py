"""Real-shaped event payloads: those stored in ``tests/events``, and SQS and Kinesis events built on them."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The payload stored as ``tests/events/<name>.json``."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def sqs_event(template: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event shaped like ``template``'s first record, with each record's fields overridden.

    Each override may set ``body`` (a dict is JSON-encoded), ``messageId``, ``receiptHandle``,
    ``receiveCount``, ``messageGroupId`` and ``eventSourceARN``.
    """
    base = load_event(template)["Records"][0]
    built = []
    for index, override in enumerate(records):
        record = copy.deepcopy(base)
        body = override.get("body", json.loads(record["body"]))
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["messageId"] = override.get("messageId", f"{record['messageId'][:-4]}{index:04d}")
        record["receiptHandle"] = override.get("receiptHandle", record["receiptHandle"])
        record["eventSourceARN"] = override.get("eventSourceARN", record["eventSourceARN"])
        record["attributes"]["ApproximateReceiveCount"] = str(override.get("receiveCount", 1))
        if "messageGroupId" in override:
            record["attributes"]["MessageGroupId"] = override["messageGroupId"]
        built.append(record)
    return {"Records": built}


FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898


def kinesis_event(payloads: list[Any], *, first_sequence: int = FIRST_SEQUENCE) -> dict[str, Any]:
    """A Kinesis event like ``kinesis_lifecycle.json`` carrying ``payloads`` (dicts are JSON-encoded)."""
    base = load_event("kinesis_lifecycle")["Records"][0]
    records = []
    for offset, payload in enumerate(payloads):
        record = copy.deepcopy(base)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sequence = str(first_sequence + offset)
        record["kinesis"]["data"] = base64.b64encode(raw).decode()
        record["kinesis"]["sequenceNumber"] = sequence
        record["eventID"] = f"shardId-000000000000:{sequence}"
        records.append(record)
    return {"Records": records}


def file_order(order_id: str) -> dict[str, Any]:
    """A valid order as a partner's import file holds it (one line of JSON Lines, or one array item)."""
    return {
        "orderId": order_id,
        "customerId": "cust-1",
        "currency": "EUR",
        "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": "9.99"}],
        "totalAmount": "19.98",
        "payment": {"method": "card", "token": "tok_visa"},
        "shippingAddress": {
            "name": "Ada Lovelace",
            "line1": "12 St James's Square",
            "city": "London",
            "postalCode": "SW1Y 4JH",
            "country": "GB",
        },
    }
