"""Probe the behaviours of the README's parity table on one engine, and print what it did as JSON.

``python -m peers.parity ours``        our engine: moto with localaws's corrections and speed-ups, in-process
``python -m peers.parity localstack``  LocalStack from its venv (``make test-sfn-localstack`` builds it)

Each probe runs real executions through the public API and reports what came back; nothing is judged here
(the README compares the two with AWS's documentation). The mocked behaviours (Throw with Retry, call-number
ranges) are the workflow suite's scenarios, run on both engines by ``make test-sfn`` and
``make test-sfn-localstack``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ClientFactory = Callable[[str], Any]
ROLE_ACCOUNT = {"ours": "123456789012", "localstack": "000000000000"}
DATA_LIMIT_BYTES = 256 * 1024
DEADLINE_S = 60.0


def _machine(sfn: Any, account: str, name: str, states: dict[str, Any], start: str) -> str:
    definition = json.dumps({"StartAt": start, "States": states})
    role = f"arn:aws:iam::{account}:role/parity"
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"])


def _run(sfn: Any, machine: str, execution_input: Any, wait: bool = True) -> str:
    arn = str(sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"])
    if wait:
        _finish(sfn, arn)
    return arn


def _finish(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.1)


def _outcome(sfn: Any, arn: str) -> dict[str, Any]:
    described = _finish(sfn, arn)
    return {k: described.get(k) for k in ("status", "error", "cause") if described.get(k) is not None}


def probe_history_pages(sfn: Any, account: str) -> dict[str, Any]:
    states: dict[str, Any] = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(1, 4)}
    states["P4"] = {"Type": "Pass", "End": True}
    arn = _run(sfn, _machine(sfn, account, "parity-history", states, "P1"), {})
    whole = sfn.get_execution_history(executionArn=arn)["events"]
    page = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=4)
    return {
        "events": len(whole),
        "reverse_max4_ids": [e["id"] for e in page["events"]],
        "reverse_max4_next_token": "nextToken" in page,
    }


def probe_data_limit(sfn: Any, account: str) -> dict[str, Any]:
    # 150 KiB in (under the quota), 300 KiB out of the Pass state (over it).
    states = {"Double": {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": True}}
    arn = _run(sfn, _machine(sfn, account, "parity-data-limit", states, "Double"), {"s": "x" * 150 * 1024})
    return _outcome(sfn, arn)


def probe_unmocked_dynamodb(client: ClientFactory, sfn: Any, account: str) -> dict[str, Any]:
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="parity-orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {"TableName": "parity-orders", "Item": {"pk": {"S.$": "$.id"}}},
        "End": True,
    }
    arn = _run(sfn, _machine(sfn, account, "parity-dynamodb", {"Put": task}, "Put"), {"id": "o-1"})
    item = dynamodb.get_item(TableName="parity-orders", Key={"pk": {"S": "o-1"}}).get("Item")
    return {**_outcome(sfn, arn), "item_written": item is not None}


def _callback_machine(sfn: Any, account: str, name: str, queue_url: str, heartbeat: int | None) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 30,
        "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.caught", "Next": "Caught"}],
        "End": True,
    }
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    states = {"Ask": task, "Caught": {"Type": "Pass", "End": True}}
    return _machine(sfn, account, name, states, "Ask")


def _token(sqs: Any, queue_url: str) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []):
            return str(json.loads(message["Body"])["token"])
    raise TimeoutError("the task never sent its token")


def probe_task_token(client: ClientFactory, sfn: Any, account: str) -> dict[str, Any]:
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="parity-tokens")["QueueUrl"]
    arn = _run(sfn, _callback_machine(sfn, account, "parity-token", queue_url, None), {}, wait=False)
    token = _token(sqs, queue_url)
    heartbeat = _answer(lambda: sfn.send_task_heartbeat(taskToken=token))  # the task has no HeartbeatSeconds
    success = _answer(lambda: sfn.send_task_success(taskToken=token, output=json.dumps({"paid": True})))
    described = _finish(sfn, arn)
    again = _answer(lambda: sfn.send_task_success(taskToken=token, output="{}"))
    return {
        "heartbeat_without_heartbeat_seconds": heartbeat,
        "success": success,
        "status": described["status"],
        "output": described.get("output"),
        "token_used_twice": again,
    }


def _answer(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "accepted"


def probe_heartbeat_timeout(client: ClientFactory, sfn: Any, account: str) -> dict[str, Any]:
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName="parity-heartbeats")["QueueUrl"]
    arn = _run(sfn, _callback_machine(sfn, account, "parity-heartbeat", queue_url, 1), {}, wait=False)
    described = _finish(sfn, arn)
    output = json.loads(described.get("output") or "{}")
    return {**_outcome(sfn, arn), "caught": output.get("caught")}


def probe_map_history(sfn: Any, account: str) -> dict[str, Any]:
    states = {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Inner",
                "States": {"Inner": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    }
    arn = _run(sfn, _machine(sfn, account, "parity-map", states, "Each"), {"items": [1, 2]})
    events = sfn.get_execution_history(executionArn=arn)["events"]
    return {"status": _finish(sfn, arn)["status"], "types": [e["type"] for e in events]}


def probe_all(client: ClientFactory, engine: str) -> dict[str, Any]:
    sfn = client("stepfunctions")
    account = ROLE_ACCOUNT[engine]
    probes: dict[str, Callable[[], dict[str, Any]]] = {
        "get_execution_history_reverse_max_results": lambda: probe_history_pages(sfn, account),
        "data_limit_300_kib_state_output": lambda: probe_data_limit(sfn, account),
        "unmocked_dynamodb_put_item": lambda: probe_unmocked_dynamodb(client, sfn, account),
        "task_token_heartbeat_and_success": lambda: probe_task_token(client, sfn, account),
        "heartbeat_timeout_caught_by_name": lambda: probe_heartbeat_timeout(client, sfn, account),
        "history_events_inside_map": lambda: probe_map_history(sfn, account),
    }
    report: dict[str, Any] = {}
    for name, probe in probes.items():
        try:
            report[name] = probe()
        except (ClientError, TimeoutError) as exc:
            report[name] = {"raised": f"{type(exc).__name__}: {exc}"}
    return report


@contextmanager
def engine_clients(engine: str) -> Iterator[ClientFactory]:
    config = Config(retries={"total_max_attempts": 1})
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if engine == "localstack":
        from peers.localstack.server import LocalStackServer  # noqa: PLC0415 - only this engine needs it

        with LocalStackServer() as server:
            yield lambda service: boto3.client(  # type: ignore[call-overload]
                service, endpoint_url=server.endpoint, region_name="us-east-1", config=config, **credentials
            )
        return
    from moto import mock_aws  # noqa: PLC0415 - moto patches boto3 while it is imported and active

    from localaws.endpoint.defaults import MOTO_CONFIG  # noqa: PLC0415 - as above
    from localaws.patches import corrections, speedups  # noqa: PLC0415 - as above

    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        corrections.CORRECTIONS.install()
        try:
            yield lambda service: boto3.client(  # type: ignore[call-overload]
                service, region_name="us-east-1", config=config, **credentials
            )
        finally:
            corrections.CORRECTIONS.uninstall()
            speedups.uninstall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.parity", description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ROLE_ACCOUNT))
    args = parser.parse_args(argv)
    with engine_clients(args.engine) as client:
        report = probe_all(client, args.engine)
    json.dump({"engine": args.engine, "probes": report}, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
