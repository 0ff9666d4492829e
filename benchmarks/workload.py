"""The five-state workload every engine runs, and how a run is measured.

Shared by the engine part (stock moto, ours, over HTTP) and the peer part, so both drive the very same
definition with the very same callers, timing and server CPU accounting.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.config import Config

from localaws.endpoint.defaults import DEFAULT_REGION, TEST_CREDENTIALS

LOOPBACK = "127.0.0.1"
TABLE = "bench-orders"
QUEUE = "bench-orders"
TOPIC = "bench-order-status"
STATE_MACHINE = "bench-five-states"
DEFINITION_SUMMARY = "DynamoDB putItem -> Choice -> SQS sendMessage -> SNS publish -> Pass"
EXECUTION_DEADLINE_S = 60.0
SERVER_START_DEADLINE_S = 60.0
POLL_INTERVAL_S = 0.002
WARMUP_EXECUTIONS = 5
# The HTTP runs' measured executions are named from here: clear of the warm-up's names (bench-0...).
HTTP_FIRST_INDEX = 100_000
REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_OUT = REPO_ROOT / "cdk.out"


def without_app() -> dict[str, Any] | None:
    """The report of a part that needs the synthesized app when there is none (None when there is one)."""
    if (CDK_OUT / "manifest.json").is_file():
        return None
    return {"ran": False, "reason": f"no synthesized app in {CDK_OUT} (run `make synth`)"}


def five_state_definition(table: str, queue_url: str, topic_arn: str) -> str:
    """DynamoDB putItem -> Choice -> SQS sendMessage -> SNS publish -> Pass."""
    return json.dumps(
        {
            "Comment": "benchmarks: five states, three service integrations",
            "StartAt": "RecordOrder",
            "States": {
                "RecordOrder": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {
                        "TableName": table,
                        "Item": {"orderId": {"S.$": "$.orderId"}, "amount": {"N.$": "$.amount"}},
                    },
                    "ResultPath": "$.recorded",
                    "Next": "IsLargeOrder",
                },
                "IsLargeOrder": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.large", "BooleanEquals": True, "Next": "RequestPayment"}],
                    "Default": "RequestPayment",
                },
                "RequestPayment": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$"},
                    "ResultPath": "$.queued",
                    "Next": "PublishStatus",
                },
                "PublishStatus": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": topic_arn, "Message.$": "$.orderId"},
                    "ResultPath": "$.published",
                    "Next": "Done",
                },
                "Done": {"Type": "Pass", "End": True},
            },
        }
    )


def order_input(index: int) -> str:
    amount = 10 + index % 200
    return json.dumps({"orderId": f"order-{index:06d}", "amount": str(amount), "large": amount > 150})


# --- the workload -------------------------------------------------------------------------------------


@dataclass
class Workload:
    """The resources one run needs, created through ``client(service)``."""

    state_machine_arn: str
    queue_url: str


ClientFactory = Callable[[str], Any]


def cached_clients(**kwargs: Any) -> ClientFactory:
    """One boto3 client per service, made on first use with the test credentials and ``kwargs``.

    Not ``localaws.endpoint.defaults.local_client``: the in-process runs have no endpoint and the HTTP runs
    need a botocore ``Config`` (no retries, a pool as large as the callers).
    """
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            # boto3-stubs types client() per literal service name; ours is a runtime string.
            clients[service] = cast(Any, boto3).client(
                service, region_name=DEFAULT_REGION, **TEST_CREDENTIALS, **kwargs
            )
        return clients[service]

    return client


def create_workload(client: ClientFactory, account_id: str) -> Workload:
    client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    topic_arn = client("sns").create_topic(Name=TOPIC)["TopicArn"]
    created = client("stepfunctions").create_state_machine(
        name=STATE_MACHINE,
        definition=five_state_definition(TABLE, queue_url, topic_arn),
        roleArn=f"arn:aws:iam::{account_id}:role/bench-states",
    )
    return Workload(state_machine_arn=created["stateMachineArn"], queue_url=queue_url)


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 2)


def ratio(numerator: Any, denominator: Any) -> float | None:
    if not numerator or not denominator:
        return None
    return round(float(numerator) / float(denominator), 2)


def run_executions(
    sfn: Any, workload: Workload, *, executions: int, concurrency: int, first_index: int = 0
) -> dict[str, Any]:
    """Burst: ``concurrency`` callers start all executions as fast as they can while one waiter follows them.

    The waiter polls the oldest unfinished execution until it is terminal, then the next, so the API load is
    about one StartExecution and one DescribeExecution per execution for any engine. Throughput is executions
    over the time from the first start to the last terminal state seen; latency is start -> terminal as the
    server records it (startDate/stopDate), so it includes queueing behind the rest of the burst.
    """
    started: queue.Queue[tuple[str, float] | None] = queue.Queue()
    indexes = iter(range(first_index, first_index + executions))
    lock = threading.Lock()
    start_errors: list[str] = []

    def starter() -> None:
        while True:
            with lock:
                index = next(indexes, None)
            if index is None:
                return
            try:
                arn = sfn.start_execution(
                    stateMachineArn=workload.state_machine_arn,
                    name=f"bench-{index}",
                    input=order_input(index),
                )["executionArn"]
            except Exception as exc:
                with lock:
                    start_errors.append(f"{type(exc).__name__}: {exc}")
                started.put(None)
                continue
            started.put((arn, time.perf_counter()))

    began = time.perf_counter()
    starters = [threading.Thread(target=starter, name=f"bench-starter-{n}") for n in range(concurrency)]
    for thread in starters:
        thread.start()
    outcomes = [_follow(sfn, started.get(timeout=EXECUTION_DEADLINE_S)) for _ in range(executions)]
    finished = time.perf_counter()
    for thread in starters:
        thread.join(timeout=EXECUTION_DEADLINE_S)
    wall_s = finished - began
    server_ms = [o["server_latency_ms"] for o in outcomes if o["status"] == "SUCCEEDED"]
    failures = [o for o in outcomes if o["status"] != "SUCCEEDED"]
    succeeded = executions - len(failures)
    return {
        "executions": executions,
        "succeeded": succeeded,
        "failed": len(failures),
        "first_failure": (failures[0] if failures else None) or None,
        "start_errors": start_errors[:3],
        "wall_s": round(wall_s, 3),
        "executions_per_s": round(succeeded / wall_s, 1) if wall_s > 0 else None,
        "latency_ms": {"p50": percentile(server_ms, 0.50), "p95": percentile(server_ms, 0.95)},
    }


def _follow(sfn: Any, started: tuple[str, float] | None) -> dict[str, Any]:
    if started is None:
        return {"status": "START_FAILED"}
    arn, started_at = started
    deadline = started_at + EXECUTION_DEADLINE_S
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        if time.perf_counter() > deadline:
            return {"status": "DEADLINE", "executionArn": arn}
        time.sleep(POLL_INTERVAL_S)
    if described["status"] != "SUCCEEDED":
        return {
            "status": described["status"],
            "executionArn": arn,
            "error": described.get("error"),
            "cause": str(described.get("cause"))[:300],
        }
    stop = described.get("stopDate")
    server_ms = (stop - described["startDate"]).total_seconds() * 1000 if stop else None
    return {"status": "SUCCEEDED", "server_latency_ms": server_ms}


def side_effects(client: ClientFactory, workload: Workload) -> dict[str, Any]:
    """What the tasks really did: rows written and messages queued (proves the integrations ran)."""
    items = client("dynamodb").scan(TableName=TABLE, Select="COUNT")["Count"]
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=workload.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return {"dynamodb_items": items, "sqs_messages": int(attributes["ApproximateNumberOfMessages"])}


# --- a server in a child process ----------------------------------------------------------------------


def installed_version(python: str, distribution: str) -> str | None:
    """The version of ``distribution`` that ``python`` imports (a peer's own venv), or None if it cannot."""
    try:
        completed = subprocess.run(
            [python, "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_for_http(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered, even if not with 200
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} within {SERVER_START_DEADLINE_S} s")


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), or None where that is not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def quiet_env() -> dict[str, str]:
    """Our environment without AWS settings (a server must not pick up real credentials), repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def child_server(
    command: list[str], env: dict[str, str], probe_url: str, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_http(probe_url, process)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def http_run(
    endpoint: str, account_id: str, executions: int, concurrency: int, server_pid: int | None = None
) -> dict[str, Any]:
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=concurrency + 4)
    client = cached_clients(endpoint_url=endpoint, config=config)
    workload = create_workload(client, account_id)
    run_executions(client("stepfunctions"), workload, executions=WARMUP_EXECUTIONS, concurrency=1)
    cpu_before = process_cpu_s(server_pid) if server_pid else None
    result = run_executions(
        client("stepfunctions"),
        workload,
        executions=executions,
        concurrency=concurrency,
        first_index=HTTP_FIRST_INDEX,
    )
    cpu_after = process_cpu_s(server_pid) if server_pid else None
    if cpu_before is not None and cpu_after is not None:
        # Everything the server did for the run: StartExecution, the waiter's DescribeExecution polls, the
        # executions themselves.
        result["server_cpu_ms_per_execution"] = round((cpu_after - cpu_before) * 1000 / executions, 2)
    result["side_effects"] = side_effects(client, workload)
    return result
