"""speedups.kinesis_sequence_numbers: records, shard ranges and LATEST iterators as on stock moto."""

from __future__ import annotations

from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.kinesis.models import Shard

from localaws.patches import speedups

REGION = "us-east-1"
STREAM = "lifecycle"

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def _client() -> Any:
    return cast(Any, boto3).client("kinesis", region_name=REGION)


def _shards(kinesis: Any) -> list[dict[str, Any]]:
    return list(kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"])


def _shard_ranges(kinesis: Any) -> list[dict[str, Any]]:
    return [{"ShardId": s["ShardId"], **s["SequenceNumberRange"]} for s in _shards(kinesis)]


def _latest_then_new(kinesis: Any, shard: dict[str, Any]) -> list[Any]:
    """What an iterator at LATEST reads before and after one more record goes to its shard."""
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )
    before = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    hash_key = shard["HashKeyRange"]["StartingHashKey"]
    kinesis.put_record(StreamName=STREAM, Data=b"late", PartitionKey="late", ExplicitHashKey=hash_key)
    after = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return [[r["SequenceNumber"] for r in before], [(r["SequenceNumber"], r["Data"]) for r in after]]


def _outcomes(installed: bool) -> list[Any]:
    """Sequence numbers of each put, the shards' ranges (empty, filled, closed), LATEST reads."""
    with mock_aws():
        if installed:
            speedups.install(["kinesis_sequence_numbers"])
        kinesis = _client()
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        outcomes: list[Any] = [_shard_ranges(kinesis)]  # empty shards
        shards = _shards(kinesis)
        outcomes.append(_latest_then_new(kinesis, shards[1]))  # LATEST on an empty shard
        for n in range(40):
            put = kinesis.put_record(StreamName=STREAM, Data=f"r{n}".encode(), PartitionKey=f"order-{n}")
            outcomes.append((put["ShardId"], put["SequenceNumber"]))
        batch = kinesis.put_records(
            StreamName=STREAM, Records=[{"Data": b"b", "PartitionKey": f"batch-{n}"} for n in range(10)]
        )
        outcomes.append([(r["ShardId"], r["SequenceNumber"]) for r in batch["Records"]])
        outcomes.append(_shard_ranges(kinesis))
        outcomes.append(_latest_then_new(kinesis, shards[0]))
        kinesis.update_shard_count(StreamName=STREAM, TargetShardCount=1, ScalingType="UNIFORM_SCALING")
        outcomes.append(_shard_ranges(kinesis))  # the old shards closed: their last sequence numbers
        speedups.uninstall()
    return outcomes


def test_sequence_numbers_read_from_the_ends_are_moto_s() -> None:
    # Given the same puts, shard descriptions and LATEST reads on stock moto and with the speed-up
    stock = _outcomes(installed=False)
    ours = _outcomes(installed=True)
    # Then every sequence number, range and read is the same
    assert ours == stock
    # And the ranges held numbers: from the first record put, up to the last one for a closed shard
    assert stock[0][0]["StartingSequenceNumber"] == "0"
    assert stock[1] == [[], [("1", b"late")]]
    assert int(stock[-3][0]["StartingSequenceNumber"]) >= 1
    assert any("EndingSequenceNumber" in shard for shard in stock[-1])
    assert stock[-2][0] == [] and len(stock[-2][1]) == 1


def test_the_last_sequence_number_is_read_without_listing_the_records() -> None:
    # Given a shard of many records
    shard = Shard(0, 0, 2**128)
    for n in range(5):
        shard.put_record(f"key-{n}", "ZGF0YQ==", "")
    stock = (shard.get_min_sequence_number(), shard.get_max_sequence_number())

    class Unlistable(dict[int, Any]):
        def keys(self) -> Any:
            raise AssertionError("the records were listed")

    shard.records = Unlistable(shard.records)
    # When the speed-up reads its first and last sequence numbers
    speedups.install(["kinesis_sequence_numbers"])
    # Then they are moto's, read from the ends
    assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == stock == (1, 5)
