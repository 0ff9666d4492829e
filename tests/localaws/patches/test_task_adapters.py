"""localaws.patches.speedups.task_adapters: straight to moto's backend, with the direct path's answers.

Each case runs the same calls in two fresh moto worlds seeded alike: through ``DirectClient`` on the direct
path (moto's handler), then with the adapters in. Answers must be equal to the byte -- ids and request ids
too, since the adapters draw moto's random numbers in the handler's order -- except the Date header; errors
must be the same exception class, ``Error`` and text; and the messages the queues hold must be equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import limits, speedups
from localaws.patches.direct_dispatch import DirectClient
from localaws.patches.speedups import task_adapters

REGION = "us-east-1"
ACCOUNT = "123456789012"
SEED = 20261128


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def without_date(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_date(v) for k, v in value.items() if k != "date"}
    return value


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    try:
        response = call()
    except ClientError as error:
        text = re.sub(r"RequestId: \S+|Request ID: \S+", "<id>", str(error))
        return {"raised": type(error).__name__, "response": without_date(error.response), "text": text}
    except (ParamValidationError, TypeError, KeyError, ValueError, NotImplementedError) as error:  # moto's
        return {"raised": type(error).__name__, "text": str(error)}
    return {"response": without_date(response)}


def queue_contents() -> dict[str, list[dict[str, Any]]]:
    """Every message every queue holds, as the deliveries read them."""
    return {
        name: [
            {
                "id": message.id,
                "body": message.body,
                "attributes": message.message_attributes,
                "system": message.system_attributes,
                "group": message.group_id,
                "dedup": message.deduplication_id,
                "sequence": message.sequence_number,
                "delayed": (message.delayed_until or 0) > (message.sent_timestamp or 0),
                "md5": (message.body_md5, message.attribute_md5),
            }
            for message in queue._messages
        ]
        for name, queue in sqs_backends[ACCOUNT][REGION].queues.items()
    }


Calls = Callable[[Any, Any], list[Callable[[], Any]]]


def compare(
    service: str,
    setup: Callable[[], Any],
    calls: Calls,
    world: Callable[[], Any],
    client_for: Callable[[str, str], Any] = boto_client_for,
    *,
    size_limits: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """Run the calls on the direct path, then adapted; assert equal outcomes and worlds; return both.

    ``size_limits``: with AWS's payload limits in force in both worlds, as LocalAws runs."""
    runs: list[tuple[list[dict[str, Any]], Any]] = []
    for adapted in (False, True):
        speedups.uninstall()
        speedups.install(["client_cache", "direct_dispatch", *(["task_adapters"] if adapted else [])])
        if size_limits:
            limits.SIZE_LIMITS.install()
        try:
            with mock_aws(config=MOTO_CONFIG):
                context = setup()
                mock_random.seed(SEED)
                client = DirectClient(client_for(REGION, service))
                outcomes = [outcome(call) for call in calls(client, context)]
                runs.append((outcomes, world()))
                if adapted:
                    counts = task_adapters.stats.snapshot()
        finally:
            if size_limits:
                limits.SIZE_LIMITS.uninstall()
    assert runs[1][0] == runs[0][0]
    # key order too: the engine writes the answer into the state's output as JSON
    assert json.dumps(runs[1][0], default=repr) == json.dumps(runs[0][0], default=repr)
    assert runs[1][1] == runs[0][1]
    return runs[1][0], counts


# --- SQS SendMessage --------------------------------------------------------------------------------------


def _queues() -> tuple[str, str, str]:
    sqs: Any = boto_client_for(REGION, "sqs")
    standard = sqs.create_queue(QueueName="payment")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="inventory.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    content = sqs.create_queue(
        QueueName="shipping.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    return standard, fifo, content


def test_sqs_send_message_valid_calls_are_adapted_with_equal_answers_and_messages() -> None:
    attributes = {
        "kind": {"DataType": "String", "StringValue": "charge"},
        "amount": {"StringValue": "19.98", "DataType": "Number"},
        "taskToken": {"DataType": "String.token", "StringValue": "AAAA" * 40},
    }

    def calls(sqs: Any, urls: tuple[str, str, str]) -> list[Callable[[], Any]]:
        standard, fifo, content = urls
        return [
            lambda: sqs.send_message(QueueUrl=standard, MessageBody='{"a": 1}', MessageAttributes=attributes),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="plain ünïcode \u2603"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="later", DelaySeconds=5),
            lambda: sqs.send_message(QueueUrl="payment", MessageBody="by name"),
            lambda: sqs.send_message(
                QueueUrl=fifo, MessageBody="x", MessageGroupId="SKU-1", MessageDeduplicationId="o-1-SKU-1"
            ),
            lambda: sqs.send_message(
                QueueUrl=fifo, MessageBody="x", MessageGroupId="SKU-1", MessageDeduplicationId="o-1-SKU-1"
            ),
            lambda: sqs.send_message(QueueUrl=content, MessageBody="y", MessageGroupId="g"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="empty attrs", MessageAttributes={}),
        ]

    outcomes, counts = compare("sqs", _queues, calls, queue_contents)

    assert all("response" in o and "Error" not in o["response"] for o in outcomes)
    assert outcomes[0]["response"]["MD5OfMessageAttributes"]
    assert outcomes[4]["response"]["SequenceNumber"]
    assert counts == {"adapted": {"SendMessage": 8}, "passed": {}}


def test_sqs_send_message_errors_are_the_same_and_change_nothing() -> None:
    def calls(sqs: Any, urls: tuple[str, str, str]) -> list[Callable[[], Any]]:
        standard, fifo, _ = urls
        missing = f"{standard.rsplit('/', 1)[0]}/missing"
        return [
            lambda: sqs.send_message(QueueUrl=missing, MessageBody="x"),
            lambda: sqs.send_message(QueueUrl=fifo, MessageBody="x"),
            lambda: sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageGroupId="g"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", DelaySeconds=901),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x" * (1_048_576 + 1)),
            lambda: sqs.send_message(
                QueueUrl=standard,
                MessageBody="x",
                MessageAttributes={"a": {"DataType": "Foo", "StringValue": "v"}},
            ),
            lambda: sqs.send_message(
                QueueUrl=standard,
                MessageBody="x",
                MessageAttributes={"a": {"DataType": "", "StringValue": "v"}},
            ),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", DelaySeconds="5"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody=7),
            lambda: sqs.send_message(QueueUrl=standard),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", Unknown=1),
        ]

    outcomes, counts = compare("sqs", _queues, calls, queue_contents)

    codes = [
        o["response"].get("Error", {}).get("Code", "ok") if "response" in o else o["raised"] for o in outcomes
    ]
    assert codes[0] == "AWS.SimpleQueueService.NonExistentQueue"
    assert codes[1] == "MissingParameter"
    assert codes[3] == "InvalidParameterValue"
    # moto's task clients do not validate: "5" reaches moto (which takes it), the rest fail in moto's handler
    # or botocore's serialiser
    assert codes[7:] == ["ok", "TypeError", "TypeError", "KeyError"]
    assert all("raised" in o for o in outcomes[:7])
    # Every call was left to the direct path (the unknown parameter before the adapter saw it)
    assert counts == {"adapted": {}, "passed": {"SendMessage": 10}}


def test_sqs_send_message_shapes_not_adapted_take_the_direct_path_unchanged() -> None:
    binary = {"blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    listed = {"l": {"DataType": "String", "StringListValues": ["a"]}}
    trace = {
        "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}
    }

    def calls(sqs: Any, urls: tuple[str, str, str]) -> list[Callable[[], Any]]:
        standard = urls[0]
        return [
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="b", MessageAttributes=binary),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="l", MessageAttributes=listed),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="t", MessageSystemAttributes=trace),
        ]

    outcomes, counts = compare("sqs", _queues, calls, queue_contents)

    assert outcomes[0]["response"]["MD5OfMessageAttributes"]
    assert counts == {"adapted": {}, "passed": {"SendMessage": 3}}


def test_sqs_send_message_wakes_the_event_source_as_the_direct_path_does() -> None:
    # Given moto's Queue.add_message hooked as the SQS event source hooks it
    added: list[str] = []
    from localaws.patches import registry  # noqa: PLC0415 - the test's own hook

    path = "moto.sqs.models.Queue.add_message"
    original = registry.resolve(path)

    def hooked(queue: Any, message: Any) -> None:
        original(queue, message)
        added.append(message.body)

    def calls(sqs: Any, urls: tuple[str, str, str]) -> list[Callable[[], Any]]:
        return [lambda: sqs.send_message(QueueUrl=urls[0], MessageBody="wake")]

    registry.patch(path, hooked, "test: see the hook fire")
    try:
        _, counts = compare("sqs", _queues, calls, queue_contents)
    finally:
        registry.unpatch(path)

    # Then the hook saw the message once on each path
    assert added == ["wake", "wake"]
    assert counts["adapted"] == {"SendMessage": 1}


# --- SNS Publish ------------------------------------------------------------------------------------------


def notified_world() -> dict[str, Any]:
    """What the topics recorded and the subscribed queues hold (the envelope's timestamp, and what is derived
    from it -- its signature and the body's checksum -- masked)."""
    from moto.sns.models import sns_backends  # noqa: PLC0415 - only the SNS cases need it

    queues = queue_contents()
    for messages in queues.values():
        for message in messages:
            message["body"] = re.sub(
                r'"(Timestamp|Signature)": "[^"]+"', r'"\1": "<masked>"', message["body"]
            )
            message["md5"] = message["md5"][1]
    topics = {
        arn: list(topic.sent_notifications) for arn, topic in sns_backends[ACCOUNT][REGION].topics.items()
    }
    return {"queues": queues, "topics": topics}


def _topics() -> dict[str, str]:
    sns: Any = boto_client_for(REGION, "sns")
    sqs: Any = boto_client_for(REGION, "sqs")
    arns = {}
    for name in ("status", "raw", "filtered", "small"):
        arns[name] = sns.create_topic(Name=name)["TopicArn"]
        queue_url = sqs.create_queue(
            QueueName=f"{name}-q", Attributes={"MaximumMessageSize": "1024"} if name == "small" else {}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {
            "raw": {"RawMessageDelivery": "true"},
            "filtered": {"FilterPolicy": '{"kind": ["paid"]}'},
        }
        sns.subscribe(
            TopicArn=arns[name], Protocol="sqs", Endpoint=queue_arn, Attributes=attributes.get(name, {})
        )
    arns["empty"] = sns.create_topic(Name="nobody")["TopicArn"]
    arns["fifo"] = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    return arns


def test_sns_publish_valid_calls_are_adapted_with_equal_answers_and_deliveries() -> None:
    kind = {
        "kind": {"DataType": "String", "StringValue": "paid"},
        "n": {"DataType": "Number", "StringValue": "19.98"},
    }

    def calls(sns: Any, arns: dict[str, str]) -> list[Callable[[], Any]]:
        return [
            lambda: sns.publish(
                TopicArn=arns["status"], Message='{"status": "PAID"}', MessageAttributes=kind
            ),
            lambda: sns.publish(TopicArn=arns["status"], Message="with subject", Subject="Order ünïcode"),
            lambda: sns.publish(TopicArn=arns["raw"], Message="raw body", MessageAttributes=kind),
            lambda: sns.publish(TopicArn=arns["filtered"], Message="kept", MessageAttributes=kind),
            lambda: sns.publish(TopicArn=arns["filtered"], Message="dropped"),
            lambda: sns.publish(TopicArn=arns["empty"], Message="to nobody", MessageAttributes={}),
            lambda: sns.publish(
                TopicArn=arns["fifo"], Message="f", MessageGroupId="g", MessageDeduplicationId="d"
            ),
        ]

    outcomes, counts = compare("sns", _topics, calls, notified_world)

    assert all("MessageId" in o["response"] for o in outcomes)
    assert counts == {"adapted": {"Publish": 7}, "passed": {}}


def test_sns_publish_errors_and_risky_fan_outs_take_the_direct_path() -> None:
    def calls(sns: Any, arns: dict[str, str]) -> list[Callable[[], Any]]:
        status = arns["status"]
        return [
            lambda: sns.publish(TopicArn=f"{status}-missing", Message="x"),
            lambda: sns.publish(TopicArn=status, Message="x", Subject="s" * 101),
            lambda: sns.publish(TopicArn=status, Message="x" * (262144 + 1)),
            lambda: sns.publish(
                TopicArn=status,
                Message="x",
                MessageAttributes={"n": {"DataType": "Number", "StringValue": "nan?"}},
            ),
            lambda: sns.publish(
                TopicArn=status,
                Message="x",
                MessageAttributes={"n": {"DataType": "Nope", "StringValue": "1"}},
            ),
            lambda: sns.publish(TopicArn=arns["fifo"], Message="no group"),
            lambda: sns.publish(TopicArn=status, Message="x", MessageDeduplicationId="d"),
            lambda: sns.publish(TopicArn=status, Message='{"default": "x"}', MessageStructure="json"),
            lambda: sns.publish(TopicArn=status, Message="x", MessageStructure="xml"),
            lambda: sns.publish(TargetArn=status, Message="by target"),
            lambda: sns.publish(
                TopicArn=arns["small"], Message="y" * 2000
            ),  # the queue refuses it mid-fan-out
            lambda: sns.publish(TopicArn=status, Message=""),
            lambda: sns.publish(
                TopicArn=status,
                Message="b",
                MessageAttributes={"b": {"DataType": "Binary", "BinaryValue": b"\x01"}},
            ),
        ]

    outcomes, counts = compare("sns", _topics, calls, notified_world)

    assert outcomes[0]["raised"] == "NotFoundException"
    assert outcomes[1]["response"]["Error"]["Code"] == "InvalidParameter"
    assert "MessageId" in outcomes[9]["response"]
    assert counts["adapted"] == {}


def test_a_validating_client_raises_botocores_errors_and_adapts_the_rest() -> None:
    # Given a task-like client whose serialiser validates (moto's task clients do not)
    def validating(region: str, service: str) -> Any:
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=True)
        make_client: Any = boto3.client  # typed per literal service name; ours is a variable
        return make_client(service, region_name=region, config=config)

    def calls(sqs: Any, urls: tuple[str, str, str]) -> list[Callable[[], Any]]:
        standard = urls[0]
        return [
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="ok"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody="x", DelaySeconds="5"),
            lambda: sqs.send_message(QueueUrl=standard, MessageBody=7),
            lambda: sqs.send_message(QueueUrl=standard),
        ]

    outcomes, counts = compare("sqs", _queues, calls, queue_contents, client_for=validating)

    # Then bad parameters raise botocore's ParamValidationError on both paths, before the adapter sees them
    assert [o.get("raised") for o in outcomes] == [None, *["ParamValidationError"] * 3]
    assert counts == {"adapted": {"SendMessage": 1}, "passed": {}}


def test_aws_size_limits_refuse_on_both_paths_what_moto_alone_would_take() -> None:
    # Given AWS's payload limits in force, as LocalAws runs: they count UTF-8 bytes and the attributes,
    # where moto counts the body's characters; a queue of 1,024 bytes, and a topic of the default 256 KiB
    def setup() -> dict[str, str]:
        sqs: Any = boto_client_for(REGION, "sqs")
        sns: Any = boto_client_for(REGION, "sns")
        small = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
        return {"queue": small, "topic": sns.create_topic(Name="nobody")["TopicArn"]}

    label = {"kind": {"DataType": "String", "StringValue": "k" * 100}}

    def sqs_calls(sqs: Any, made: dict[str, str]) -> list[Callable[[], Any]]:
        return [
            lambda: sqs.send_message(QueueUrl=made["queue"], MessageBody="é" * 600),  # 1,200 bytes
            lambda: sqs.send_message(QueueUrl=made["queue"], MessageBody="x" * 1000, MessageAttributes=label),
            lambda: sqs.send_message(QueueUrl=made["queue"], MessageBody="x" * 900, MessageAttributes=label),
        ]

    def sns_calls(sns: Any, made: dict[str, str]) -> list[Callable[[], Any]]:
        return [
            lambda: sns.publish(TopicArn=made["topic"], Message="é" * 200_000),  # 400,000 bytes
            lambda: sns.publish(TopicArn=made["topic"], Message="fits"),
        ]

    # When the same calls go the direct path and adapted
    sqs_outcomes, sqs_counts = compare("sqs", setup, sqs_calls, queue_contents, size_limits=True)
    sns_outcomes, sns_counts = compare("sns", setup, sns_calls, queue_contents, size_limits=True)

    # Then both refuse the oversized ones with AWS's error, and only what fits is adapted
    assert [o["response"].get("Error", {}).get("Code") for o in sqs_outcomes] == [
        "InvalidParameterValue",
        "InvalidParameterValue",
        None,
    ]
    assert sqs_counts == {"adapted": {"SendMessage": 1}, "passed": {"SendMessage": 2}}
    assert sns_outcomes[0]["raised"] == "InvalidParameterException"
    assert sns_counts == {"adapted": {"Publish": 1}, "passed": {"Publish": 1}}


# --- DynamoDB PutItem and UpdateItem ----------------------------------------------------------------------


def dynamodb_world() -> dict[str, Any]:
    """Every item of every table, attributes in their order, as later reads and the stream see them."""
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - only the DynamoDB cases need it

    return {
        name: [json.dumps(item.to_json(), default=repr) for item in table.all_items()]
        for name, table in dynamodb_backends[ACCOUNT][REGION].tables.items()
    }


AT = "2026-11-28T23:00:00.000Z"
ENDED = "NOT #status IN (:ended0, :ended1, :ended2)"
WRITTEN = "SET #status = :status, updatedAt = :at, history = list_append(history, :entry)"
ENDED_VALUES = {":ended0": {"S": "COMPLETED"}, ":ended1": {"S": "CANCELLED"}, ":ended2": {"S": "REJECTED"}}


def _orders_tables() -> None:
    dynamodb: Any = boto_client_for(REGION, "dynamodb")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _record(order_id: str, status: str = "RECEIVED", **extra: Any) -> dict[str, Any]:
    """An order as the workflow's Record Order state writes it."""
    return {
        "orderId": {"S": order_id},
        "status": {"S": status},
        "customerId": {"S": "c-ünï"},
        "totalAmount": {"N": "19.98"},
        "priority": {"BOOL": False},
        "detail": {"S": json.dumps({"orderId": order_id, "items": [{"sku": "A", "quantity": 2}]})},
        "tags": {"SS": ["a", "b"]},
        "none": {"NULL": True},
        "history": {"L": [{"M": {"status": {"S": status}, "at": {"S": AT}}}]},
        **extra,
    }


def _mark(order_id: str, status: str, *, condition: str | None = ENDED, **extra: Any) -> dict[str, Any]:
    """An update as the workflow's Mark Order Paid / Complete Order / Cancel Order states send it."""
    values = {
        ":status": {"S": status},
        ":entry": {"L": [{"M": {"status": {"S": status}, "at": {"S": AT}}}]},
        ":at": {"S": AT},
        **(ENDED_VALUES if condition == ENDED else {}),
        **{f":{name}": value for name, value in extra.items()},
    }
    sets = ["#status = :status", "updatedAt = :at", "history = list_append(history, :entry)"]
    sets += [f"{name} = :{name}" for name in extra]
    params: dict[str, Any] = {
        "TableName": "orders",
        "Key": {"orderId": {"S": order_id}},
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
        "UpdateExpression": "SET " + ", ".join(sets),
    }
    if condition is not None:
        params["ConditionExpression"] = condition
    return params


def test_dynamodb_writes_as_the_workflow_sends_them_are_adapted_with_equal_answers_and_items() -> None:
    def calls(dynamodb: Any, _: Any) -> list[Callable[[], Any]]:
        record = {"TableName": "orders", "ConditionExpression": "attribute_not_exists(orderId)"}
        return [
            lambda: dynamodb.put_item(**record, Item=_record("o-1")),
            lambda: dynamodb.put_item(**record, Item=_record("o-2"), ReturnValues="NONE"),
            lambda: dynamodb.update_item(**_mark("o-1", "PAID", condition=None, paymentId={"S": "p-1"})),
            lambda: dynamodb.update_item(
                **_mark("o-1", "COMPLETED", shipmentId={"S": "s-1"}, trackingNumber={"S": "t-1"})
            ),
            lambda: dynamodb.update_item(**_mark("o-2", "CANCELLED", failure={"S": '{"Error": "x"}'})),
            lambda: dynamodb.put_item(TableName="orders", Item=_record("o-2", "REPLACED")),
            lambda: dynamodb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-new"}},
                UpdateExpression="SET n = :n, m = :m",
                ExpressionAttributeValues={":n": {"N": "1"}, ":m": {"M": {"a": {"L": []}}}},
            ),
            lambda: dynamodb.put_item(TableName="ledger", Item={"pk": {"S": "a"}, "sk": {"N": "1"}}),
            lambda: dynamodb.update_item(
                TableName="ledger",
                Key={"pk": {"S": "a"}, "sk": {"N": "2"}},
                UpdateExpression="ADD amount :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnConsumedCapacity="NONE",
            ),
        ]

    outcomes, counts = compare("dynamodb", _orders_tables, calls, dynamodb_world)

    assert [o.get("raised") for o in outcomes] == [None] * 9
    assert outcomes[2]["response"]["ConsumedCapacity"] == {"TableName": "orders", "CapacityUnits": 0.5}
    assert "x-amz-crc32" in outcomes[0]["response"]["ResponseMetadata"]["HTTPHeaders"]
    assert counts == {"adapted": {"PutItem": 4, "UpdateItem": 5}, "passed": {}}


def test_dynamodb_errors_are_the_same_and_change_nothing() -> None:
    big = "x" * 410_000

    def calls(dynamodb: Any, _: Any) -> list[Callable[[], Any]]:
        record = {"TableName": "orders", "ConditionExpression": "attribute_not_exists(orderId)"}
        return [
            lambda: dynamodb.put_item(**record, Item=_record("o-1")),
            lambda: dynamodb.update_item(**_mark("o-1", "COMPLETED")),
            # the condition fails: a duplicate order, an order that already ended
            lambda: dynamodb.put_item(**record, Item=_record("o-1", "AGAIN")),
            lambda: dynamodb.put_item(
                **record, Item=_record("o-1", "AGAIN"), ReturnValuesOnConditionCheckFailure="ALL_OLD"
            ),
            lambda: dynamodb.update_item(**_mark("o-1", "CANCELLED")),
            lambda: dynamodb.update_item(
                **_mark("o-1", "CANCELLED"), ReturnValuesOnConditionCheckFailure="ALL_OLD"
            ),
            # a missing table, bad expressions, unused or missing placeholders
            lambda: dynamodb.put_item(TableName="missing", Item=_record("o-9")),
            lambda: dynamodb.update_item(**{**_mark("o-1", "PAID", condition=None), "TableName": "missing"}),
            lambda: dynamodb.put_item(**{**record, "ConditionExpression": "attribute_not_exists("}, Item={}),
            lambda: dynamodb.update_item(**{**_mark("o-1", "PAID"), "UpdateExpression": "SET = :status"}),
            lambda: dynamodb.update_item(**{**_mark("o-1", "PAID"), "UpdateExpression": "  "}),
            lambda: dynamodb.update_item(
                **_mark("o-1", "PAID", condition=None, unused={"S": "u"}) | {"UpdateExpression": WRITTEN}
            ),
            lambda: dynamodb.update_item(
                **{**_mark("o-1", "PAID"), "ExpressionAttributeNames": {"#s": "status"}}
            ),
            lambda: dynamodb.update_item(
                **{**_mark("o-1", "PAID", condition=None), "ExpressionAttributeValues": {}}
            ),
            lambda: dynamodb.put_item(
                TableName="orders",
                Item=_record("o-3"),
                ConditionExpression="#a = :a",
                ExpressionAttributeNames={"#a": "status"},
                ExpressionAttributeValues={":a": {"S": "x"}, ":b": {"S": "unused"}},
            ),
            # type mismatches: the key's type, list_append on text, a key that is not the table's
            lambda: dynamodb.put_item(TableName="orders", Item={"orderId": {"N": "1"}}),
            lambda: dynamodb.update_item(
                **{**_mark("o-1", "PAID", condition=None), "Key": {"orderId": {"N": "1"}}}
            ),
            lambda: dynamodb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-1"}},
                UpdateExpression="SET status = list_append(customerId, :l)",
                ExpressionAttributeValues={":l": {"L": []}},
            ),
            lambda: dynamodb.update_item(
                **{**_mark("o-1", "PAID", condition=None), "Key": {"other": {"S": "o-1"}}}
            ),
            lambda: dynamodb.put_item(TableName="orders", Item={"other": {"S": "o-1"}}),
            lambda: dynamodb.put_item(TableName="orders", Item={"orderId": {"S": ""}}),
            lambda: dynamodb.put_item(TableName="ledger", Item={"pk": {"S": "a"}}),
            # items over 400 KB: put whole, and an update that sets one attribute before the next overflows
            lambda: dynamodb.put_item(TableName="orders", Item={"orderId": {"S": "o-big"}, "a": {"S": big}}),
            lambda: dynamodb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-1"}},
                UpdateExpression="SET small = :s, huge = :h",
                ExpressionAttributeValues={":s": {"S": "kept?"}, ":h": {"S": big}},
            ),
            lambda: dynamodb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-fresh"}},
                UpdateExpression="SET small = :s, huge = :h",
                ExpressionAttributeValues={":s": {"S": "kept?"}, ":h": {"S": big}},
            ),
            # an update of a new item whose expression refers to what it does not hold
            lambda: dynamodb.update_item(**_mark("o-absent", "PAID", condition=None)),
            # invalid parameters moto's task clients do not validate
            lambda: dynamodb.put_item(TableName="orders", Item={"orderId": {"S": 7}}),
            lambda: dynamodb.put_item(TableName="orders"),
            lambda: dynamodb.update_item(**_mark("o-1", "PAID"), ReturnValues="SOMETIMES"),
        ]

    outcomes, counts = compare("dynamodb", _orders_tables, calls, dynamodb_world)

    codes = [
        o["response"].get("Error", {}).get("Code", "ok") if "response" in o else o["raised"] for o in outcomes
    ]
    assert codes[:2] == ["ok", "ok"]
    assert codes[2:6] == ["ConditionalCheckFailedException"] * 4
    assert outcomes[3]["response"]["Item"]["status"] == {"S": "COMPLETED"}
    assert outcomes[5]["response"]["Item"]["status"] == {"S": "COMPLETED"}
    assert codes[6:8] == ["ResourceNotFoundException"] * 2
    assert all(code not in ("ok", "TypeError") for code in codes[8:26])
    assert counts["adapted"] == {"PutItem": 1, "UpdateItem": 1}


def test_dynamodb_shapes_not_adapted_take_the_direct_path_unchanged() -> None:
    def calls(dynamodb: Any, _: Any) -> list[Callable[[], Any]]:
        return [
            lambda: dynamodb.put_item(TableName="orders", Item=_record("o-1"), ReturnValues="ALL_OLD"),
            lambda: dynamodb.put_item(TableName="orders", Item=_record("o-1"), ReturnValues="ALL_OLD"),
            lambda: dynamodb.put_item(TableName="orders", Item=_record("o-2", blob={"B": b"\x00\x01"})),
            lambda: dynamodb.put_item(
                TableName="orders", Item=_record("o-3"), ReturnConsumedCapacity="TOTAL"
            ),
            lambda: dynamodb.put_item(
                TableName="orders", Item=_record("o-4"), Expected={"orderId": {"Exists": False}}
            ),
            lambda: dynamodb.update_item(**_mark("o-1", "PAID", condition=None), ReturnValues="ALL_NEW"),
            lambda: dynamodb.update_item(**_mark("o-1", "PAID", condition=None), ReturnValues="UPDATED_OLD"),
            lambda: dynamodb.update_item(
                TableName="orders",
                Key={"orderId": {"S": "o-1"}},
                AttributeUpdates={"n": {"Value": {"N": "1"}, "Action": "PUT"}},
            ),
            lambda: dynamodb.put_item(TableName="orders", Item=_record("o-5", n={"N": 5})),
        ]

    outcomes, counts = compare("dynamodb", _orders_tables, calls, dynamodb_world)

    assert outcomes[1]["response"]["Attributes"]["orderId"] == {"S": "o-1"}
    assert outcomes[5]["response"]["Attributes"]["status"] == {"S": "PAID"}
    assert counts == {"adapted": {}, "passed": {"PutItem": 6, "UpdateItem": 3}}


def test_adapted_conditional_writes_racing_on_one_key_let_one_win() -> None:
    # Given the adapters in, and threads writing one order under attribute_not_exists, as duplicated
    # deliveries of one order do
    import threading  # noqa: PLC0415 - only this case races

    speedups.install(["client_cache", "direct_dispatch", "task_adapters"])
    with mock_aws(config=MOTO_CONFIG):
        _orders_tables()
        client = DirectClient(boto_client_for(REGION, "dynamodb"))
        results: list[str] = []
        start = threading.Barrier(8)

        def record(n: int) -> None:
            start.wait()
            try:
                client.put_item(
                    TableName="orders",
                    Item=_record("o-race", f"RECEIVED-{n}"),
                    ConditionExpression="attribute_not_exists(orderId)",
                )
                results.append("won")
            except ClientError as error:
                results.append(error.response["Error"]["Code"])

        threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        counts = task_adapters.stats.snapshot()

    # Then exactly one write won, the others failed their condition on moto's path
    assert sorted(results) == ["ConditionalCheckFailedException"] * 7 + ["won"]
    assert counts == {"adapted": {"PutItem": 1}, "passed": {"PutItem": 7}}


# --- EventBridge PutEvents --------------------------------------------------------------------------------


def events_world() -> dict[str, Any]:
    """What the archive holds and what each queue target received (ids and times masked the same way)."""
    from moto.events.models import events_backends  # noqa: PLC0415 - only the PutEvents cases need it

    def masked(text: str) -> str:
        return re.sub(r'"(time|ingestion-time)": ("[^"]*"|[0-9.e+-]+)', r'"\1": "<masked>"', text)

    archives = {
        name: [masked(json.dumps(event, default=repr)) for event in archive.events]
        for name, archive in events_backends[ACCOUNT][REGION].archives.items()
    }
    queues = queue_contents()
    for messages in queues.values():
        for message in messages:
            message["body"] = masked(message["body"])
            message["md5"] = message["md5"][1]
    return {"archives": archives, "queues": queues}


def _buses() -> dict[str, str]:
    events: Any = boto_client_for(REGION, "events")
    sqs: Any = boto_client_for(REGION, "sqs")
    bus_arn = events.create_event_bus(Name="orders")["EventBusArn"]
    events.create_archive(ArchiveName="orders-archive", EventSourceArn=bus_arn)
    events.put_rule(Name="to-sfn", EventBusName="orders", EventPattern='{"detail-type": ["OrderPlaced"]}')
    events.put_targets(
        Rule="to-sfn",
        EventBusName="orders",
        Targets=[{"Id": "sfn", "Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nowhere"}],
    )
    events.create_event_bus(Name="to-queue")
    queue_url = sqs.create_queue(QueueName="bus-q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="q", EventBusName="to-queue", EventPattern='{"source": ["orderflow.orders"]}')
    events.put_targets(Rule="q", EventBusName="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])
    return {"bus": "orders", "arn": bus_arn}


def test_events_put_events_as_the_workflow_sends_them_is_adapted_with_equal_answers_and_archive() -> None:
    def entry(detail: Any, **extra: Any) -> dict[str, Any]:
        return {
            "Detail": json.dumps(detail),
            "DetailType": "OrderCompleted",
            "EventBusName": "orders",
            "Source": "orderflow.orders",
            **extra,
        }

    def calls(events: Any, made: dict[str, str]) -> list[Callable[[], Any]]:
        return [
            lambda: events.put_events(
                Entries=[entry({"orderId": "o-1", "paymentId": "p", "trackingNumber": "t"})]
            ),
            lambda: events.put_events(
                Entries=[entry({"orderId": "ü"}, EventBusName=made["arn"], Resources=["r"])]
            ),
            lambda: events.put_events(
                Entries=[entry({"a": 1}), {"Source": "s"}, entry({"b": 2}, Detail="{bad")]
            ),
            lambda: events.put_events(
                Entries=[entry({"a": 1}, EventBusName=None) | {"EventBusName": "default"}]
            ),
        ]

    # (with our EventBridge delivery in, as LocalAws runs: it takes the Step Functions target)
    from localaws.delivery import eventbridge  # noqa: PLC0415 - only these cases need the delivery

    eventbridge._running.patches.install()
    try:
        outcomes, counts = compare("events", _buses, calls, events_world, size_limits=True)
    finally:
        eventbridge._running.patches.uninstall()

    assert [o["response"]["FailedEntryCount"] for o in outcomes] == [0, 0, 2, 0]
    assert counts == {"adapted": {"PutEvents": 4}, "passed": {}}


def test_events_put_events_errors_limits_and_risky_targets_take_the_direct_path() -> None:
    def calls(events: Any, _: dict[str, str]) -> list[Callable[[], Any]]:
        one = {"Source": "orderflow.orders", "DetailType": "X", "Detail": "{}"}
        return [
            lambda: events.put_events(Entries=[one | {"EventBusName": "missing"}]),
            lambda: events.put_events(
                Entries=[one | {"EventBusName": "orders"}, one | {"EventBusName": "nope"}]
            ),
            lambda: events.put_events(Entries=[one] * 11),
            lambda: events.put_events(Entries=[one | {"EventBusName": "to-queue"}]),
            lambda: events.put_events(Entries=[one | {"Detail": "[1]", "EventBusName": "orders"}]),
            lambda: events.put_events(Entries=[one | {"Detail": json.dumps({"x": "y" * 1_100_000})}]),
            lambda: events.put_events(Entries=[one | {"Detail": 7}]),
            lambda: events.put_events(Entries=[]),
        ]

    outcomes, counts = compare("events", _buses, calls, events_world, size_limits=True)

    codes = [o["response"].get("Error", {}).get("Code") if "response" in o else o["raised"] for o in outcomes]
    assert codes[:3] == ["ResourceNotFoundException"] * 2 + ["ValidationException"]
    assert outcomes[3]["response"]["FailedEntryCount"] == 0  # delivered to the queue by moto's path
    assert outcomes[4]["response"]["Entries"] == [
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    ]
    assert codes[5] == "ValidationException"
    assert counts["adapted"] == {}


# --- Kinesis PutRecord ------------------------------------------------------------------------------------


def kinesis_world() -> dict[str, Any]:
    """Every record of every shard, as the event source and GetRecords read them."""
    from moto.kinesis.models import kinesis_backends  # noqa: PLC0415 - only the Kinesis cases need it

    return {
        name: {
            shard_id: [
                (r.partition_key, r.data, r.sequence_number, r.explicit_hash_key)
                for r in shard.records.values()
            ]
            for shard_id, shard in stream.shards.items()
        }
        for name, stream in kinesis_backends[ACCOUNT][REGION].streams.items()
    }


def _streams() -> str:
    kinesis: Any = boto_client_for(REGION, "kinesis")
    kinesis.create_stream(StreamName="analytics", ShardCount=2)
    return str(kinesis.describe_stream(StreamName="analytics")["StreamDescription"]["StreamARN"])


def test_kinesis_put_record_as_the_workflow_sends_it_is_adapted_with_equal_answers_and_records() -> None:
    announcement = json.dumps({"orderId": "o-1", "status": "PAID", "contact": {"name": "Zoë"}})

    def calls(kinesis: Any, arn: str) -> list[Callable[[], Any]]:
        return [
            lambda: kinesis.put_record(StreamName="analytics", PartitionKey="o-1", Data=announcement),
            lambda: kinesis.put_record(StreamName="analytics", PartitionKey="o-2", Data=b"\x00\xff raw"),
            lambda: kinesis.put_record(StreamARN=arn, PartitionKey="o-3", Data=""),
            lambda: kinesis.put_record(
                StreamName="analytics", PartitionKey="o-4", Data="x", ExplicitHashKey=str(2**127)
            ),
        ]

    outcomes, counts = compare("kinesis", _streams, calls, kinesis_world)

    assert [list(o["response"])[:2] for o in outcomes] == [["ShardId", "SequenceNumber"]] * 4
    assert counts == {"adapted": {"PutRecord": 4}, "passed": {}}


def test_kinesis_put_record_errors_are_the_same_and_add_nothing() -> None:
    def calls(kinesis: Any, _: str) -> list[Callable[[], Any]]:
        return [
            lambda: kinesis.put_record(StreamName="missing", PartitionKey="k", Data="x"),
            lambda: kinesis.put_record(StreamName="analytics", PartitionKey="k" * 257, Data="x"),
            lambda: kinesis.put_record(
                StreamName="analytics", PartitionKey="k", Data="x", ExplicitHashKey=str(2**128)
            ),
            lambda: kinesis.put_record(StreamName="analytics", PartitionKey=7, Data="x"),
            lambda: kinesis.put_record(StreamName="analytics", PartitionKey="k", Data=7),
            lambda: kinesis.put_record(
                StreamName="analytics", PartitionKey="k", Data="x", SequenceNumberForOrdering="1"
            ),
        ]

    outcomes, counts = compare("kinesis", _streams, calls, kinesis_world)

    codes = [
        o["response"].get("Error", {}).get("Code", "ok") if "response" in o else o["raised"] for o in outcomes
    ]
    assert codes[0] == "ResourceNotFoundException"
    assert codes[1:3] == ["InvalidArgumentException"] * 2
    assert codes[5] == "ok"
    assert counts["adapted"] == {}


def test_events_put_events_to_a_step_functions_target_is_adapted_only_with_our_delivery_in() -> None:
    # Given a bus whose rule targets a state machine: moto alone fails on such a target (NotImplementedError),
    # our EventBridge delivery takes it
    from localaws.delivery import eventbridge  # noqa: PLC0415 - only this case needs the delivery

    def calls(events: Any, _: dict[str, str]) -> list[Callable[[], Any]]:
        placed = {"Source": "orderflow.orders", "DetailType": "OrderPlaced", "EventBusName": "orders"}
        return [lambda: events.put_events(Entries=[placed | {"Detail": '{"orderId": "o-1"}'}])]

    # When the order is put with moto's delivery alone, then with ours in
    alone, alone_counts = compare("events", _buses, calls, events_world)
    eventbridge._running.patches.install()
    try:
        ours, ours_counts = compare("events", _buses, calls, events_world)
    finally:
        eventbridge._running.patches.uninstall()

    # Then moto's failure is moto's on both paths, and with our delivery in the put is adapted
    assert alone[0]["raised"] == "NotImplementedError"
    assert alone_counts == {"adapted": {}, "passed": {"PutEvents": 1}}
    assert ours[0]["response"]["FailedEntryCount"] == 0
    assert ours_counts == {"adapted": {"PutEvents": 1}, "passed": {}}
