"""Dollars per million orders: each path's usage times the published prices in ``prices.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.tools.cost.durations import Durations
    from localaws.tools.cost.usage import OrderUsage

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
MILLION = 1_000_000
_SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    source: str
    status: str  # aws | third-party | unverified
    read_on: str

    @property
    def verified(self) -> bool:
        return self.status == "aws"


def load_prices(path: Path = PRICES_FILE) -> dict[str, Price]:
    data = json.loads(path.read_text())
    prices = {}
    for key, entry in data["prices"].items():
        for needed in ("usd", "unit", "source", "status", "read_on"):
            if needed not in entry:
                raise ValueError(f"{path}: price {key!r} has no {needed!r}")
        prices[key] = Price(
            key, float(entry["usd"]), entry["unit"], entry["source"], entry["status"], entry["read_on"]
        )
    return prices


@dataclass(frozen=True)
class CostLine:
    service: str
    quantity: float  # billed units per million orders
    price: Price

    @property
    def usd(self) -> float:
        return self.quantity * self.price.usd

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "units_per_million_orders": round(self.quantity, 3),
            "unit": self.price.unit,
            "usd_per_unit": self.price.usd,
            "usd": round(self.usd, 4),
            "price": self.price.key,
            "price_status": self.price.status,
            "source": self.price.source,
        }


def cost_per_million(
    usage: OrderUsage,
    prices: dict[str, Price],
    durations: Durations,
    *,
    service_of: dict[str, str],
    order_rate: float,
    kinesis_shards: int,
) -> list[CostLine]:
    """The bill of a million orders that all take ``usage``'s path, at ``order_rate`` orders per second.

    ``service_of`` maps each function's logical id to its service (for its measured duration). The Kinesis
    shards are billed by the hour whatever flows through them: a million orders at ``order_rate`` keep them
    for ``1e6 / order_rate`` seconds.
    """
    p = prices
    lines = [
        CostLine(
            "Step Functions (Standard transitions)",
            usage.transitions * MILLION,
            p["stepfunctions_standard_transition"],
        ),
    ]
    requests = sum(usage.lambda_invocations.values())
    gb_seconds = sum(
        times * durations.seconds(service_of[function]) * usage.lambda_memory_mb[function] / 1024
        for function, times in usage.lambda_invocations.items()
    )
    lines += [
        CostLine("Lambda requests", requests * MILLION, p["lambda_request"]),
        CostLine("Lambda duration (GB-s)", gb_seconds * MILLION, p["lambda_gb_second_x86"]),
        CostLine("SQS standard requests", usage.sqs_standard * MILLION, p["sqs_standard_request"]),
        CostLine("SQS FIFO requests", usage.sqs_fifo * MILLION, p["sqs_fifo_request"]),
        CostLine("SNS publishes", usage.sns_publishes * MILLION, p["sns_standard_publish"]),
        CostLine(
            "EventBridge custom events", usage.eventbridge_events * MILLION, p["eventbridge_custom_event"]
        ),
        CostLine("Kinesis PUT payload units", usage.kinesis_records * MILLION, p["kinesis_put_payload_unit"]),
        CostLine(
            "Kinesis shard hours",
            kinesis_shards * MILLION / order_rate / _SECONDS_PER_HOUR,
            p["kinesis_shard_hour"],
        ),
        CostLine("DynamoDB on-demand writes (WRU)", usage.wru * MILLION, p["dynamodb_ondemand_wru"]),
        CostLine("DynamoDB on-demand reads (RRU)", usage.rru * MILLION, p["dynamodb_ondemand_rru"]),
    ]
    return lines
