"""localaws.patches.speedups.sqs: moto's readers of ContentBasedDeduplication alone, served without a scan."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import sqs_backends

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import registry, speedups
from localaws.patches.speedups import sqs as sqs_speedup
from localaws.patches.speedups.sqs import UNCOUNTED_READERS

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

REGION = "us-east-1"


def _attribute_reads(function: Any) -> list[str]:
    """Each ``.attributes`` read in ``function``'s source: ``get(<key>)``, or ``""`` for any other use."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "attributes":
            method = parents[node]
            call = parents.get(method)
            if (
                isinstance(method, ast.Attribute)
                and method.attr == "get"
                and isinstance(call, ast.Call)
                and len(call.args) == 1
                and isinstance(call.args[0], ast.Constant)
            ):
                reads.append(f"get({call.args[0].value!s})")
            else:
                reads.append("")
    return reads


@pytest.mark.parametrize("path", UNCOUNTED_READERS)
def test_each_listed_reader_reads_only_content_based_deduplication(path: str) -> None:
    # Given a moto function the speed-up serves the attributes without counts
    reads = _attribute_reads(registry.original(path))

    # Then it reads the attributes, and only ever their ContentBasedDeduplication
    assert reads, f"{path} no longer reads Queue.attributes: drop it from UNCOUNTED_READERS"
    assert set(reads) == {"get(ContentBasedDeduplication)"}, f"{path} reads {reads}"


def test_a_reader_of_every_attribute_is_seen_as_such() -> None:
    # moto's get_queue_attributes answers every attribute asked, counts included: the check refuses it
    reads = _attribute_reads(registry.original("moto.sqs.models.SQSBackend.get_queue_attributes"))
    assert "" in reads


def test_send_message_does_not_scan_the_queue_and_answers_stay_moto_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mock_aws(config=MOTO_CONFIG):
        # Given a standard queue holding messages, and a content-deduplicated FIFO queue
        sqs = boto3.client("sqs", region_name=REGION)
        standard = sqs.create_queue(QueueName="held")["QueueUrl"]
        fifo = sqs.create_queue(
            QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        for n in range(20):
            sqs.send_message(QueueUrl=standard, MessageBody=f"m-{n}")
        speedups.install(["sqs_queue_attributes"])
        scans: list[int] = []
        counts = sqs_speedup._message_counts

        def counted_scan(queue: Any) -> dict[str, int]:
            scans.append(1)
            return counts(queue)

        monkeypatch.setattr(sqs_speedup, "_message_counts", counted_scan)

        # When messages are sent (the FIFO one twice: its duplicate dropped by content)
        sqs.send_message(QueueUrl=standard, MessageBody="one more")
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")

        # Then no send scanned a queue, deduplication by content still held, and the counts asked are whole
        assert scans == []
        queues = sqs_backends["123456789012"][REGION].queues
        assert len(queues["dedup.fifo"]._messages) == 1
        answered = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["All"])["Attributes"]
        assert answered["ApproximateNumberOfMessages"] == "21"
        assert queues["held"].attributes["ApproximateNumberOfMessages"] == 21
        assert len(scans) == 2
