"""The price arithmetic on a case small enough to check by hand, and the price file's own promises."""

from __future__ import annotations

from collections import Counter

import pytest

from localaws.tools.cost.durations import Durations
from localaws.tools.cost.pricing import Price, cost_per_million, load_prices
from localaws.tools.cost.usage import OrderUsage


def _price(key: str, usd: float) -> Price:
    return Price(key, usd, "unit", "https://example.test/", "aws", "2026-11-28")


PRICES = {
    key: _price(key, usd)
    for key, usd in {
        "stepfunctions_standard_transition": 0.000025,
        "lambda_request": 0.0000002,
        "lambda_gb_second_x86": 0.00001667,
        "sqs_standard_request": 0.0000004,
        "sqs_fifo_request": 0.0000005,
        "sns_standard_publish": 0.0000005,
        "eventbridge_custom_event": 0.000001,
        "kinesis_put_payload_unit": 0.000000014,
        "kinesis_shard_hour": 0.015,
        "dynamodb_ondemand_wru": 0.000000625,
        "dynamodb_ondemand_rru": 0.000000125,
    }.items()
}


def test_a_million_small_orders_cost_what_the_hand_sum_says() -> None:
    # Given an order of 10 transitions, 2 invocations of a 1,024 MB function that runs 500 ms, 3 standard
    # and 2 FIFO SQS requests, 1 SNS publish, 1 event, 1 Kinesis record, 4 WRU and 2 RRU
    usage = OrderUsage(
        path="hand",
        items=1,
        transitions=10,
        lambda_invocations=Counter({"Fn": 2}),
        lambda_memory_mb={"Fn": 1024},
        sqs_standard=3,
        sqs_fifo=2,
        sns_publishes=1,
        kinesis_records=1,
        eventbridge_events=1,
        wru=4,
        rru=2,
    )
    durations = Durations({"svc": 500.0}, how="by hand")

    # When a million of them are priced at 100 orders/s with 2 shards (a million orders take 10,000 s)
    lines = cost_per_million(
        usage, PRICES, durations, service_of={"Fn": "svc"}, order_rate=100, kinesis_shards=2
    )
    by_service = {line.service: round(line.usd, 6) for line in lines}

    # Then each line is units x price, worked out by hand
    assert by_service == {
        "Step Functions (Standard transitions)": 250.0,  # 10e6 x $0.000025
        "Lambda requests": 0.4,  # 2e6 x $0.0000002
        "Lambda duration (GB-s)": 16.67,  # 2 x 0.5 s x 1 GB = 1 GB-s an order; 1e6 x $0.00001667
        "SQS standard requests": 1.2,  # 3e6 x $0.0000004
        "SQS FIFO requests": 1.0,  # 2e6 x $0.0000005
        "SNS publishes": 0.5,
        "EventBridge custom events": 1.0,
        "Kinesis PUT payload units": 0.014,
        "Kinesis shard hours": round(2 * 10_000 / 3600 * 0.015, 6),  # 5.56 shard-hours
        "DynamoDB on-demand writes (WRU)": 2.5,  # 4e6 x $0.000000625
        "DynamoDB on-demand reads (RRU)": 0.25,
    }
    assert round(sum(line.usd for line in lines), 6) == pytest.approx(
        273.6173, abs=1e-4
    )  # the lines above, added up


def test_every_price_names_its_source_date_and_how_far_it_is_verified() -> None:
    # Given the shipped price file
    prices = load_prices()

    # Then each billed unit the model uses is there, with a source, a date and a status
    assert set(PRICES) <= set(prices)
    for price in prices.values():
        assert price.source and price.read_on
        assert price.status in {"aws", "third-party", "unverified"}
        # An unverified figure says where the search looked instead of pointing at a page that had it.
        assert price.source.startswith("http") or price.status == "unverified"
