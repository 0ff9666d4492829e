"""localaws.patches.speedups: the speed-ups give the same executions and histories as stock moto."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto import mock_aws
from moto.core.responses import BaseResponse
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.sns.models import sns_backends
from moto.sqs.models import Queue, sqs_backends

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import registry, speedups
from tests.localaws.support import moto_client as client

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
_GENERATED_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|Request ID: \w+")


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def make_table(name: str = "orders") -> str:
    client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def wait_terminal(arn: str, timeout_s: float = 30.0) -> dict[str, Any]:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.005)
    raise AssertionError(f"{arn} still RUNNING after {timeout_s} s")


def normalized_history(arn: str) -> list[dict[str, Any]]:
    """History without what differs between any two runs: timestamps and generated ids."""
    events = client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    normalized = []
    for event in events:
        kept = {key: value for key, value in event.items() if key != "timestamp"}
        normalized.append(json.loads(_GENERATED_IDS.sub("<id>", json.dumps(kept, default=str))))
    return normalized


def run(
    definition: dict[str, Any], inputs: list[dict[str, Any]], *, setup: Callable[[], object] | None = None
):
    """Run ``inputs`` (concurrently) in a fresh moto world; return (status, output, history) per input."""
    with mock_aws(config=MOTO_CONFIG):
        if setup:
            setup()
        sfn = client("stepfunctions")
        arn = sfn.create_state_machine(name="under-test", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]
        started = [
            sfn.start_execution(stateMachineArn=arn, name=f"run-{n}", input=json.dumps(data))["executionArn"]
            for n, data in enumerate(inputs)
        ]
        results = []
        for execution_arn in started:
            described = wait_terminal(execution_arn)
            results.append(
                (
                    described["status"],
                    json.loads(described.get("output", "null")),
                    normalized_history(execution_arn),
                )
            )
        return results


def stock_and_ours(definition: dict[str, Any], inputs: list[dict[str, Any]], **kwargs: Any):
    speedups.uninstall()
    stock = run(definition, inputs, **kwargs)
    speedups.install()
    ours = run(definition, inputs, **kwargs)
    return stock, ours


CHOICE_PASS_TASK = {
    "StartAt": "Record",
    "States": {
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "orders", "Item": {"orderId": {"S.$": "$.orderId"}}},
            "ResultPath": "$.recorded",
            "Next": "Large?",
        },
        "Large?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.amount", "NumericGreaterThan": 100, "Next": "Large"}],
            "Default": "Small",
        },
        "Large": {"Type": "Pass", "Result": {"tier": "large"}, "ResultPath": "$.tier", "End": True},
        "Small": {"Type": "Pass", "Parameters": {"tier": "small", "order.$": "$.orderId"}, "End": True},
    },
}


def test_choice_pass_task_matches_stock_and_uses_the_cached_program() -> None:
    # Given a Task -> Choice -> Pass definition and inputs that take each branch
    inputs = [
        {"orderId": "o-1", "amount": 500},
        {"orderId": "o-2", "amount": 5},
        {"orderId": "o-3", "amount": 101},
    ]

    # When it runs on stock moto and with the engine installed
    stock, ours = stock_and_ours(CHOICE_PASS_TASK, inputs, setup=make_table)

    # Then status, output and the whole history are the same, and the parsed program was reused
    assert ours == stock
    assert [status for status, _, _ in ours] == ["SUCCEEDED"] * 3
    assert ours[0][1]["tier"] == {"tier": "large"}
    assert ours[1][1] == {"tier": "small", "order": "o-2"}
    assert speedups.stats()["parsed_program"]["hits"] >= 3


def test_parallel_and_map_match_stock() -> None:
    # Given a Parallel of two branches followed by a Map whose iterator chooses per item
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True}},
                    },
                ],
                "ResultPath": "$.both",
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 4,
                "Iterator": {
                    "StartAt": "Even?",
                    "States": {
                        "Even?": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.even", "BooleanEquals": True, "Next": "Even"}],
                            "Default": "Odd",
                        },
                        "Even": {"Type": "Pass", "Parameters": {"even.$": "$.v"}, "End": True},
                        "Odd": {"Type": "Pass", "Parameters": {"odd.$": "$.v"}, "End": True},
                    },
                },
                "ResultPath": "$.each",
                "End": True,
            },
        },
    }
    inputs = [{"n": n, "items": [{"v": v, "even": v % 2 == 0} for v in range(n, n + 5)]} for n in (1, 2)]

    # When it runs on stock moto and with the engine installed
    stock, ours = stock_and_ours(definition, inputs)

    # Then outputs are equal, and so are the histories up to the interleaving of concurrent branches
    assert [(s, o) for s, o, _ in ours] == [(s, o) for s, o, _ in stock]
    assert ours[0][1]["both"] == ["a", {"n": 1}]
    assert ours[1][1]["each"][0] == {"even": 2}
    for (_, _, ours_history), (_, _, stock_history) in zip(ours, stock, strict=True):
        assert sorted(e["type"] for e in ours_history) == sorted(e["type"] for e in stock_history)


RETRY_CATCH = {
    "StartAt": "Write",
    "States": {
        "Write": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "no-such-table", "Item": {"orderId": {"S.$": "$.orderId"}}},
            "Retry": [
                {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Compensate"}],
            "Next": "Done",
        },
        "Compensate": {"Type": "Pass", "Parameters": {"compensated.$": "$.orderId"}, "End": True},
        "Done": {"Type": "Succeed"},
    },
}


def test_retry_and_catch_of_a_failing_task_match_stock_and_count_per_execution() -> None:
    # Given a task that always fails, retried once then caught, started for 3 orders at the same time
    inputs = [{"orderId": f"o-{n}"} for n in range(3)]

    # When it runs on stock moto and with the engine installed
    stock, ours = stock_and_ours(RETRY_CATCH, inputs)

    # Then the same history, and each execution made exactly 2 attempts: retry counters are not shared
    assert ours == stock
    for n, (status, output, history) in enumerate(ours):
        assert status == "SUCCEEDED"
        assert output == {"compensated": f"o-{n}"}
        assert [e["type"] for e in history].count("TaskScheduled") == 2


def test_wait_for_task_token_resumes_with_the_send_task_success_output() -> None:
    speedups.install()
    with mock_aws(config=MOTO_CONFIG):
        # Given an execution waiting on an SQS callback, and a worker thread that answers it
        queue_url = client("sqs").create_queue(QueueName="payment")["QueueUrl"]
        definition = {
            "StartAt": "Pay",
            "States": {
                "Pay": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue_url,
                        "MessageBody": {"orderId.$": "$.orderId", "taskToken.$": "$$.Task.Token"},
                    },
                    "End": True,
                }
            },
        }
        sfn = client("stepfunctions")
        machine = sfn.create_state_machine(name="pay", definition=json.dumps(definition), roleArn=ROLE)
        answered: list[str] = []

        def payment_worker() -> None:
            sqs = client("sqs")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
                if messages:
                    body = json.loads(messages[0]["Body"])
                    answered.append(body["orderId"])
                    client("stepfunctions").send_task_success(
                        taskToken=body["taskToken"], output=json.dumps({"paid": body["orderId"]})
                    )
                    return
                time.sleep(0.01)

        worker = threading.Thread(target=payment_worker)
        worker.start()

        # When the execution starts and the worker calls SendTaskSuccess
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"orderId": "o-9"}')[
            "executionArn"
        ]
        described = wait_terminal(arn, timeout_s=10)
        worker.join(timeout=10)

        # Then the worker answered once, and the execution succeeded with the callback's output
        assert answered == ["o-9"]
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"paid": "o-9"}


def test_concurrent_executions_of_one_definition_do_not_interfere() -> None:
    speedups.install()
    # Given one cached program and 24 executions with different inputs, all in flight together
    definition = {
        "StartAt": "Tier",
        "States": {
            "Tier": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 12, "Next": "High"}],
                "Default": "Low",
            },
            "High": {"Type": "Pass", "Parameters": {"n.$": "$.n", "tier": "high"}, "Next": "Echo"},
            "Low": {"Type": "Pass", "Parameters": {"n.$": "$.n", "tier": "low"}, "Next": "Echo"},
            "Echo": {"Type": "Pass", "Result": {"fixed": True}, "ResultPath": "$.echo", "End": True},
        },
    }
    inputs = [{"n": n} for n in range(24)]

    # When they all run
    results = run(definition, inputs)

    # Then each output belongs to its own input, and the Pass Result literal was never mutated across runs
    for n, (status, output, _) in enumerate(results):
        assert status == "SUCCEEDED"
        assert output == {"n": n, "tier": "high" if n >= 12 else "low", "echo": {"fixed": True}}
    assert speedups.stats()["parsed_program"]["hits"] >= 24


def test_update_state_machine_takes_effect_for_new_executions() -> None:
    speedups.install()
    with mock_aws(config=MOTO_CONFIG):
        # Given a state machine that has run once (its program is cached)
        sfn = client("stepfunctions")

        def says(word: str) -> str:
            return json.dumps(
                {"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": {"word": word}, "End": True}}}
            )

        arn = sfn.create_state_machine(name="greeter", definition=says("before"), roleArn=ROLE)[
            "stateMachineArn"
        ]
        first = wait_terminal(sfn.start_execution(stateMachineArn=arn)["executionArn"])

        # When the definition is updated and a new execution starts
        sfn.update_state_machine(stateMachineArn=arn, definition=says("after"))
        second = wait_terminal(sfn.start_execution(stateMachineArn=arn)["executionArn"])

        # Then the new execution runs the new definition, the old one keeps its own
        assert json.loads(first["output"]) == {"word": "before"}
        assert json.loads(second["output"]) == {"word": "after"}
        assert sfn.describe_state_machine_for_execution(executionArn=second["executionArn"])[
            "definition"
        ] == says("after")


def test_unnamed_executions_get_distinct_names() -> None:
    speedups.install()
    with mock_aws(config=MOTO_CONFIG):
        # Given a state machine
        sfn = client("stepfunctions")
        definition = json.dumps({"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True}}})
        arn = sfn.create_state_machine(name="anon", definition=definition, roleArn=ROLE)["stateMachineArn"]

        # When StartExecution is called twice without a name (stock moto names both "None", refuses the 2nd)
        first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        second = sfn.start_execution(stateMachineArn=arn)["executionArn"]

        # Then both run, under different generated names
        assert first != second
        assert not first.endswith(":None")
        assert wait_terminal(second)["status"] == "SUCCEEDED"


def test_task_clients_are_reused_across_executions() -> None:
    # Given the engine installed and a definition with one DynamoDB task
    speedups.install()

    # When it runs 4 times
    results = run(CHOICE_PASS_TASK, [{"orderId": f"o-{n}", "amount": n} for n in range(4)], setup=make_table)

    # Then one DynamoDB client served all four task calls
    assert [status for status, _, _ in results] == ["SUCCEEDED"] * 4
    assert speedups.stats()["client_cache"] == {"hits": 3, "misses": 1}


def test_install_is_idempotent_and_uninstall_restores_moto() -> None:
    parser = registry.resolve("moto.stepfunctions.parser.asl.parse.asl_parser.AmazonStateLanguageParser")
    stock_parse = parser.parse

    # Given the engine installed twice
    speedups.install()
    speedups.install()
    patched_parse = parser.parse

    # When it is uninstalled
    speedups.uninstall()

    # Then it had replaced moto's code once, and moto's own code is back (still a staticmethod)
    assert patched_parse is not stock_parse
    assert speedups.installed() == frozenset()
    assert parser.parse is stock_parse
    assert isinstance(parser.__dict__["parse"], staticmethod)


def test_unknown_patch_name_is_refused() -> None:
    # Given / When / Then: a typo must not silently install nothing
    with pytest.raises(ValueError, match="unknown speed-ups"):
        speedups.install(["parsed_programs"])


def test_queue_attributes_are_moto_s_own_in_one_scan() -> None:

    stock_attributes = cast(Any, Queue).attributes.fget
    with mock_aws(config=MOTO_CONFIG):
        # Given a FIFO queue with a redrive policy, and a standard queue holding visible, delayed and
        # in-flight messages
        sqs = client("sqs")
        dlq = sqs.create_queue(QueueName="inventory-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        fifo = sqs.create_queue(
            QueueName="inventory.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            },
        )["QueueUrl"]
        standard = sqs.create_queue(QueueName="payment", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=standard, MessageBody=f"visible-{n}")
        sqs.send_message(QueueUrl=standard, MessageBody="delayed", DelaySeconds=900)
        sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=2)
        sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="SKU-1")

        # When the attributes are built by moto and by the engine's replacement
        speedups.install(["sqs_queue_attributes"])

        queues = sqs_backends["123456789012"][REGION].queues
        ours = {name: queue.attributes for name, queue in queues.items()}
        stock = {name: stock_attributes(queue) for name, queue in queues.items()}

        # Then they are equal, key order included, and the counts are what was sent and received
        assert ours == stock
        assert [list(a) for a in ours.values()] == [list(a) for a in stock.values()]
        assert ours["payment"]["ApproximateNumberOfMessages"] == 3
        assert ours["payment"]["ApproximateNumberOfMessagesNotVisible"] == 2
        assert ours["payment"]["ApproximateNumberOfMessagesDelayed"] == 1
        assert ours["inventory.fifo"]["ContentBasedDeduplication"] == "true"
        # And SendMessage reads ContentBasedDeduplication through it (dedup by body still works)
        sqs.send_message(QueueUrl=fifo, MessageBody="a", MessageGroupId="SKU-1")
        assert queues["inventory.fifo"].attributes["ApproximateNumberOfMessages"] == 1


def test_action_lookup_sees_methods_added_to_a_handler_class() -> None:

    class Handler(BaseResponse):
        def first_action(self) -> str:
            return "one"

    # Given the cached lookup
    speedups.install(["action_lookup"])
    lookup = registry.resolve("moto.core.responses.method_names_from_class")
    assert "first_action" in lookup(Handler)

    # When a method is added to the class later
    Handler.second_action = lambda self: "two"  # type: ignore[attr-defined]

    # Then the lookup lists it (the cache notices the class changed), as moto's own lookup would
    assert "second_action" in lookup(Handler)
    assert lookup(Handler) == registry.original("moto.core.responses.method_names_from_class")(Handler)


def _inventory_table(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="stock",
        AttributeDefinitions=[
            {"AttributeName": "sku", "AttributeType": "S"},
            {"AttributeName": "recordId", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "sku", "KeyType": "HASH"},
            {"AttributeName": "recordId", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName="stock", Item={"sku": {"S": "A"}, "recordId": {"S": "STOCK"}, "n": {"N": "5"}}
    )
    dynamodb.put_item(
        TableName="stock", Item={"sku": {"S": "A"}, "recordId": {"S": "RES#1"}, "n": {"N": "1"}}
    )


def _transaction(reserve: int) -> list[dict[str, Any]]:
    """Take ``reserve`` units, drop reservation 1, add reservation 2 on a new SKU (conditional on stock)."""
    return [
        {
            "Update": {
                "TableName": "stock",
                "Key": {"sku": {"S": "A"}, "recordId": {"S": "STOCK"}},
                "UpdateExpression": "SET n = n - :q",
                "ConditionExpression": "n >= :q",
                "ExpressionAttributeValues": {":q": {"N": str(reserve)}},
            }
        },
        {"Delete": {"TableName": "stock", "Key": {"sku": {"S": "A"}, "recordId": {"S": "RES#1"}}}},
        {"Put": {"TableName": "stock", "Item": {"sku": {"S": "B"}, "recordId": {"S": "RES#2"}}}},
    ]


def _transaction_outcomes(installed: bool, transactions: list[list[dict[str, Any]]]) -> list[Any]:
    """Each transaction's outcome on the inventory table ("ok", the cancellation reasons, or the error),
    then the table after it; on stock moto, or with ``dynamodb_transactions``."""
    with mock_aws():
        if installed:
            speedups.install(["dynamodb_transactions"])
        dynamodb = client("dynamodb")
        _inventory_table(dynamodb)
        outcomes: list[Any] = []
        for transaction in transactions:
            try:
                dynamodb.transact_write_items(TransactItems=transaction)
                outcomes.append("ok")
            except dynamodb.exceptions.TransactionCanceledException as exc:
                outcomes.append(exc.response["CancellationReasons"])
            except dynamodb.exceptions.ClientError as exc:
                outcomes.append(exc.response["Error"])
            except Exception as exc:  # in-process, moto's KeyError for a missing value reaches the caller
                outcomes.append((type(exc).__name__, str(exc)))
            items = dynamodb.scan(TableName="stock")["Items"]
            outcomes.append(sorted(json.dumps(item, sort_keys=True) for item in items))
        speedups.uninstall()
    return outcomes


def _transact_outcomes(installed: bool) -> list[Any]:
    # Too many units (cancelled), some that fit, then no longer fit (cancelled).
    return _transaction_outcomes(installed, [_transaction(reserve) for reserve in (9, 3, 3)])


def _codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [reason["Code"] for reason in reasons]


def test_transactions_with_an_undo_log_match_stock_moto() -> None:
    # Given the same transactions, cancelled and committed, against stock moto and with the undo log
    stock = _transact_outcomes(installed=False)
    # When they run with the undo log instead of table copies
    ours = _transact_outcomes(installed=True)
    # Then every answer and the table after every transaction are the same (a cancelled one changed nothing)
    assert ours == stock
    assert _codes(stock[0]) == ["ConditionalCheckFailed", "None", "None"]
    assert stock[2] == "ok" and _codes(stock[4]) == ["ConditionalCheckFailed", "None", "None"]
    assert stock[1] == _after_setup() and stock[5] == stock[3] != stock[1]


# (ConditionExpression, names, values) on every item of a transaction: passing, failing, a missing value, a
# syntax error.
TRANSACTION_CONDITIONS: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("attribute_not_exists(sku) OR n >= :q", {}, {":q": {"N": "1"}}),
    ("#n < :q", {"#n": "n"}, {":q": {"N": "0"}}),
    ("attribute_exists(sku)", {}, {}),
    ("n >= :missing", {}, {":q": {"N": "1"}}),
    ("attribute_not_exists(sku) AND (", {}, {}),
]


def _conditional_transaction(expression: str, names: dict[str, str], values: dict[str, Any]) -> list[Any]:
    """An Update, a Delete, a Put and a ConditionCheck, each on its own item, each with the condition."""
    condition: dict[str, Any] = {
        "ConditionExpression": expression,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        condition["ExpressionAttributeNames"] = names
    update_values = {**values, ":one": {"N": "1"}}
    return [
        {
            "Update": {
                "TableName": "stock",
                "Key": {"sku": {"S": "A"}, "recordId": {"S": "STOCK"}},
                "UpdateExpression": "SET n = n - :one",
                **condition,
                "ExpressionAttributeValues": update_values,
            }
        },
        {
            "Delete": {
                "TableName": "stock",
                "Key": {"sku": {"S": "A"}, "recordId": {"S": "RES#1"}},
                **condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        },
        {
            "Put": {
                "TableName": "stock",
                "Item": {"sku": {"S": "B"}, "recordId": {"S": "RES#2"}, "n": {"N": "1"}},
                **condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        },
        {
            "ConditionCheck": {
                "TableName": "stock",
                "Key": {"sku": {"S": "C"}, "recordId": {"S": "STOCK"}},
                **condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            }
        },
    ]


def _conditional_transaction_outcomes(installed: bool) -> list[Any]:
    # The second round runs on the table the first changed.
    transactions = [_conditional_transaction(*condition) for condition in TRANSACTION_CONDITIONS * 2]
    return _transaction_outcomes(installed, transactions)


def test_transactions_with_conditions_on_every_item_match_stock_moto() -> None:
    # Given transactions whose every item (Update, Delete, Put, ConditionCheck) carries a condition that
    # passes, fails (ALL_OLD), lacks a value or does not parse, against stock moto
    stock = _conditional_transaction_outcomes(installed=False)
    # When they run with the undo log, each condition checked once
    ours = _conditional_transaction_outcomes(installed=True)
    # Then the answers, cancellation reasons (with the old items) and tables are the same
    assert ours == stock
    assert "ok" in stock
    assert any(isinstance(outcome, list) and "Item" in str(outcome) for outcome in stock)  # an ALL_OLD item
    assert ("KeyError", "':missing'") in stock and ("ValueError", "Unmatched ( at ") in stock  # moto's own


def test_a_transaction_checks_each_item_s_condition_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given every parse of a condition counted
    parsed: list[str | None] = []
    moto_parse = ConditionExpressionParser.parse

    def counting_parse(self: ConditionExpressionParser) -> Any:
        parsed.append(self.condition_expression)
        return moto_parse(self)

    monkeypatch.setattr(ConditionExpressionParser, "parse", counting_parse)
    with mock_aws():
        speedups.install(["dynamodb_transactions"])
        dynamodb = client("dynamodb")
        _inventory_table(dynamodb)
        parsed.clear()

        # When a transaction with one conditional Update commits
        dynamodb.transact_write_items(TransactItems=_transaction(3))
        speedups.uninstall()

    # Then its condition was parsed by the handler's validation and by the transaction's check: not again by
    # the write (stock moto parses it a third time there)
    assert [text for text in parsed if text] == ["n >= :q", "n >= :q"]


def _after_setup() -> list[str]:
    return sorted(
        json.dumps(item, sort_keys=True)
        for item in (
            {"sku": {"S": "A"}, "recordId": {"S": "STOCK"}, "n": {"N": "5"}},
            {"sku": {"S": "A"}, "recordId": {"S": "RES#1"}, "n": {"N": "1"}},
        )
    )


def _envelopes(installed: bool) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Two messages published to a topic, as an SQS subscriber without raw delivery receives them."""

    with mock_aws():
        if installed:
            speedups.install(["sns_signing"])
        sns, sqs = client("sns"), client("sqs")
        topic = sns.create_topic(Name="status")["TopicArn"]
        url = sqs.create_queue(QueueName="tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        for text in ("first", "second"):
            sns.publish(TopicArn=topic, Message=text, Subject="s")
        bodies = [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        ]
        certificates = dict(sns_backends["123456789012"]["us-east-1"]._message_public_keys)
        speedups.uninstall()
    return bodies, certificates


def _signature_is_valid(envelope: dict[str, Any], certificates: dict[str, bytes]) -> bool:

    certificate = x509.load_pem_x509_certificate(certificates[envelope["SigningCertURL"].rsplit("/", 1)[1]])
    signed = "".join(
        f"{field}\n{envelope[field]}\n" for field in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    )
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # SNS signs with RSA (SignatureVersion 2: SHA256)
    try:
        public_key.verify(
            base64.b64decode(envelope["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


def test_sns_envelopes_are_signed_like_moto_s_with_one_certificate() -> None:
    # Given two messages delivered as envelopes by stock moto and with the signing patch
    stock, stock_certificates = _envelopes(installed=False)
    ours, our_certificates = _envelopes(installed=True)
    # Then the envelopes have the same fields and messages, every signature verifies against its certificate,
    # and ours share one certificate where moto made one per message
    assert [sorted(e) for e in ours] == [sorted(e) for e in stock]
    assert [e["Message"] for e in ours] == [e["Message"] for e in stock] == ["first", "second"]
    assert all(_signature_is_valid(e, stock_certificates) for e in stock)
    assert all(_signature_is_valid(e, our_certificates) for e in ours)
    assert len({e["SigningCertURL"] for e in stock}) == 2
    assert len({e["SigningCertURL"] for e in ours}) == 1
    tampered = dict(ours[0], Message="forged")
    assert not _signature_is_valid(tampered, our_certificates)


def _update_outcomes(installed: bool) -> list[Any]:
    """Updates (one twice, a transaction, a malformed one, an unknown placeholder) and the item after each."""
    outcomes: list[Any] = []
    with mock_aws():
        if installed:
            speedups.install(["dynamodb_update_expressions"])
        dynamodb = client("dynamodb")
        table = make_table()
        key = {"orderId": {"S": "o-1"}}
        updates = [
            ("ADD n :one", {":one": {"N": "1"}}),
            ("ADD n :one", {":one": {"N": "2"}}),  # the same text with other values
            ("SET #s = :s, n = n + :one", {":s": {"S": "PAID"}, ":one": {"N": "1"}}),
            ("SET junk(", {":s": {"S": "x"}}),
            ("SET st = :missing", {":s": {"S": "x"}}),
        ]
        for expression, values in updates:
            names = {"#s": "status"} if "#s" in expression else {}
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    **({"ExpressionAttributeNames": names} if names else {}),
                )
                outcomes.append("ok")
            except dynamodb.exceptions.ClientError as exc:
                outcomes.append(exc.response["Error"])
            except Exception as exc:  # in-process, moto's KeyError for a missing value reaches the caller
                outcomes.append((type(exc).__name__, str(exc)))
            outcomes.append(dynamodb.get_item(TableName=table, Key=key).get("Item"))
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key,
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "10"}},
                    }
                }
            ]
        )
        outcomes.append(dynamodb.get_item(TableName=table, Key=key)["Item"])
        outcomes.append(speedups.stats()["dynamodb_update_expressions"])
        speedups.uninstall()
    return outcomes


def test_update_expressions_parsed_once_give_moto_s_answers_and_errors() -> None:
    # Given the same updates against stock moto and with each expression text parsed once
    stock = _update_outcomes(installed=False)
    ours = _update_outcomes(installed=True)
    # Then every answer, error and item is the same, and the repeated text was parsed only once
    assert ours[:-1] == stock[:-1]
    assert stock[1] == {"orderId": {"S": "o-1"}, "n": {"N": "1"}} and stock[3]["n"] == {"N": "3"}
    assert stock[6]["Code"] == "ValidationException" and stock[8]["Code"] == "ValidationException"
    assert stock[10]["n"] == {"N": "14"}
    assert ours[-1]["hits"] >= 3 and stock[-1] == {"hits": 0, "misses": 0}


def test_backend_lookup_gives_moto_s_backends_and_registers_like_moto_after_a_reset() -> None:
    from moto.core.base_backend import BackendDict  # noqa: PLC0415 - moto's core, only for this check
    from moto.sqs.models import sqs_backends as backends  # noqa: PLC0415 - as above

    def registered() -> bool:
        instances: list[Any] = getattr(BackendDict, "_instances")  # noqa: B009 - generic class attribute
        return any(instance is backends for instance in instances)

    with mock_aws():
        speedups.install(["backend_lookup"])
        # Given an account's SQS backend, made on first use
        client("sqs").create_queue(QueueName="q")
        first = backends["123456789012"]
        # When it is looked up again, it is the same object, still registered for reset
        assert backends["123456789012"] is first
        assert registered()
        assert "q" in first[REGION].queues
        # And after moto's reset, the next lookup makes a fresh backend and registers it again, as moto does
        BackendDict.reset()
        assert not registered()
        fresh = backends["123456789012"]
        assert fresh is not first and not fresh[REGION].queues
        assert registered()
        speedups.uninstall()


def _tree(node: Any, seen: dict[int, int] | None = None) -> Any:
    """A parse tree as plain data: each node's class and attributes; a node met again is ("ref", n)."""
    seen = {} if seen is None else seen
    if isinstance(node, list | tuple):
        return [_tree(child, seen) for child in node]
    if hasattr(node, "__dict__"):
        if id(node) in seen:
            return ("ref", seen[id(node)])
        seen[id(node)] = len(seen)
        return (type(node).__name__, {name: _tree(value, seen) for name, value in vars(node).items()})
    return node


def test_a_kept_parse_tree_is_copied_fresh_and_whole_for_each_validation() -> None:
    import copy  # noqa: PLC0415 - only this test compares with it

    from moto.dynamodb.parsing import validators  # noqa: PLC0415 - the module whose copies we replace
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]  # noqa: PLC0415 - as above
        UpdateExpressionParser,
    )

    speedups.install(["dynamodb_update_expressions"])
    # Given a kept parse tree
    tree = UpdateExpressionParser.make("SET a = list_append(if_not_exists(a, :e), :v) ADD n :one")
    assert UpdateExpressionParser.make("SET a = list_append(if_not_exists(a, :e), :v) ADD n :one") is tree
    # When the validators copy it twice
    first, second = validators.deepcopy(tree), validators.deepcopy(tree)
    # Then each copy is a new tree, the same as moto's deep copy, and other values are deep-copied as before
    assert first is not tree and second is not first and first.children is not tree.children
    assert _tree(first) == _tree(copy.deepcopy(tree)) == _tree(second) == _tree(tree)
    other = {"k": [1, 2]}
    assert validators.deepcopy(other) == other and validators.deepcopy(other)["k"] is not other["k"]
    speedups.uninstall()
    assert validators.deepcopy is copy.deepcopy
