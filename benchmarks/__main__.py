"""How fast the local Step Functions engine runs, and how it compares with a local peer.

``python -m benchmarks`` prints one JSON object on stdout:

* ``engine``: a five-state definition (DynamoDB putItem, Choice, SQS sendMessage, SNS publish, Pass) run
  N times in-process, with stock moto and with ``localaws.patches.speedups.install()`` in the same run; a leave-one-out
  ablation of the engine's patches; and the same workload over HTTP against a moto server (engine installed)
  in a child process.
* ``peer``: the same workload over HTTP against MiniStack, when a Python with ``ministack`` installed is given
  (``--ministack-python`` or ``MINISTACK_PYTHON``); otherwise it says why it did not run.
* ``orders``: whole orders end to end through ``LocalAws`` (the synthesized template in ``cdk.out``, the real
  Lambda handlers in worker processes, all delivery mechanisms): ``OrderPlaced`` events are put on the bus at
  a paced rate, in steps of increasing rate; each step reports the completion rate and the P50/P95 latency
  from PutEvents to the order's execution reaching a terminal status. The sustained rate is the highest step
  that kept up (completions at >= 90 % of the offered rate, P95 under 5 s).

Every part is a function returning a dict (``engine_part``, ``peer_part``, ``orders_part``); ``main`` puts
them in one object. Everything binds to loopback, every wait is bounded, and child processes are stopped
before returning.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
TABLE = "bench-orders"
QUEUE = "bench-orders"
TOPIC = "bench-order-status"
STATE_MACHINE = "bench-five-states"
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
EXECUTION_DEADLINE_S = 60.0
SERVER_START_DEADLINE_S = 60.0
POLL_INTERVAL_S = 0.002
WARMUP_EXECUTIONS = 5
REPO_ROOT = Path(__file__).resolve().parents[1]


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


def boto3_client(service: str, **kwargs: Any) -> Any:
    import boto3

    # boto3-stubs types client() per literal service name; ours is a runtime string.
    return cast(Any, boto3).client(service, **kwargs)


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if not numerator or not denominator:
        return None
    return round(float(numerator) / float(denominator), 2)


# --- in-process ---------------------------------------------------------------------------------------


def _in_process_run(
    *, engine_patches: tuple[str, ...] | None, executions: int, concurrency: int
) -> dict[str, Any]:
    """One fresh moto world; ``engine_patches`` None = stock moto, else the patches to install."""
    from moto import mock_aws

    from localaws.patches import speedups

    speedups.uninstall()
    if engine_patches is not None:
        speedups.install(engine_patches)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3_client(
                service, region_name=REGION, aws_access_key_id="bench", aws_secret_access_key="bench"
            )
        return clients[service]

    try:
        with mock_aws(config=cast(Any, MOTO_CONFIG)):
            workload = create_workload(client, "123456789012")
            run_executions(client("stepfunctions"), workload, executions=WARMUP_EXECUTIONS, concurrency=1)
            result = run_executions(
                client("stepfunctions"),
                workload,
                executions=executions,
                concurrency=concurrency,
                first_index=WARMUP_EXECUTIONS,
            )
            result["side_effects"] = side_effects(client, workload)
            if engine_patches is not None:
                result["engine_cache_stats"] = speedups.stats()
    finally:
        speedups.uninstall()
    return result


def in_process_part(executions: int, concurrency: int, ablation: bool) -> dict[str, Any]:
    from localaws.patches import speedups

    stock = _in_process_run(engine_patches=None, executions=executions, concurrency=concurrency)
    ours = _in_process_run(
        engine_patches=speedups.PATCH_NAMES, executions=executions, concurrency=concurrency
    )
    result: dict[str, Any] = {
        "stock": stock,
        "ours": ours,
        "speedup_executions_per_s": _ratio(ours["executions_per_s"], stock["executions_per_s"]),
    }
    if ablation:
        # Leave one patch out at a time: the drop from "ours" is what that patch contributes.
        without: dict[str, Any] = {}
        for left_out in speedups.PATCH_NAMES:
            kept = tuple(name for name in speedups.PATCH_NAMES if name != left_out)
            run = _in_process_run(engine_patches=kept, executions=executions, concurrency=concurrency)
            without[left_out] = {
                "executions_per_s": run["executions_per_s"],
                "latency_ms": run["latency_ms"],
                "failed": run["failed"],
                "ours_over_this": _ratio(ours["executions_per_s"], run["executions_per_s"]),
            }
        result["ablation_without"] = without
    return result


# --- over HTTP ----------------------------------------------------------------------------------------


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
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=concurrency + 4)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = boto3_client(
                service,
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=config,
            )
        return clients[service]

    workload = create_workload(client, account_id)
    run_executions(client("stepfunctions"), workload, executions=WARMUP_EXECUTIONS, concurrency=1)
    cpu_before = process_cpu_s(server_pid) if server_pid else None
    result = run_executions(
        client("stepfunctions"), workload, executions=executions, concurrency=concurrency, first_index=100_000
    )
    cpu_after = process_cpu_s(server_pid) if server_pid else None
    if cpu_before is not None and cpu_after is not None:
        # Everything the server did for the run: StartExecution, the waiter's DescribeExecution polls, the
        # executions themselves.
        result["server_cpu_ms_per_execution"] = round((cpu_after - cpu_before) * 1000 / executions, 2)
    result["side_effects"] = side_effects(client, workload)
    return result


def serve_moto(port: int) -> None:
    """Child-process entry: localaws's endpoint (mock_aws + keep-alive server) + engine until terminated.

    ``LOCALAWS_BENCH_STOCK=1`` serves stock moto instead: its ThreadedMotoServer, no engine.
    """
    import logging
    import signal

    from localaws.endpoint.server import LocalEndpoint
    from localaws.patches import speedups

    os.environ["MOTO_PORT"] = str(port)  # where moto's engine would call without the in-process stubber
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if os.environ.get("LOCALAWS_BENCH_STOCK") == "1":
        from moto import mock_aws
        from moto.server import ThreadedMotoServer

        with mock_aws(config=cast(Any, MOTO_CONFIG)):
            server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
            server.start()
            try:
                stop.wait(timeout=3600)
            finally:
                server.stop()
        return
    speedups.install()
    endpoint = LocalEndpoint(port=port)
    endpoint.start()
    try:
        stop.wait(timeout=3600)
    finally:
        endpoint.stop()
        speedups.uninstall()


def _quiet_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def moto_http_part(executions: int, concurrency: int, log_dir: Path) -> dict[str, Any]:
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "benchmarks", "--serve-moto", str(port)]
    try:
        with child_server(
            command, _quiet_env(), f"{endpoint}/moto-api/", log_dir / "bench-moto-server.log"
        ) as server:
            result = http_run(endpoint, "123456789012", executions, concurrency, server.pid)
    except Exception as exc:
        return {"ran": False, "reason": f"{type(exc).__name__}: {exc}"}
    result["ran"] = True
    result["server"] = (
        "localaws.endpoint.server.LocalEndpoint + localaws.patches.speedups, child process, loopback"
    )
    return result


def engine_part(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "definition": "DynamoDB putItem -> Choice -> SQS sendMessage -> SNS publish -> Pass",
        "executions": args.executions,
        "concurrency": args.concurrency,
        "in_process": in_process_part(args.executions, args.concurrency, args.ablation),
    }
    if args.http:
        result["http"] = moto_http_part(args.executions, args.concurrency, args.log_dir)
    return result


# --- the peer -----------------------------------------------------------------------------------------


def _peer_version(python: str) -> str | None:
    try:
        completed = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('ministack'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def peer_part(args: argparse.Namespace, ours: dict[str, Any] | None) -> dict[str, Any]:
    python = args.ministack_python or os.environ.get("MINISTACK_PYTHON")
    if not python:
        return {
            "ran": False,
            "reason": "no MiniStack Python given (--ministack-python or MINISTACK_PYTHON); "
            "install: python3 -m venv /tmp/ministack-venv && /tmp/ministack-venv/bin/pip install ministack",
        }
    version = _peer_version(python)
    if version is None:
        return {"ran": False, "reason": f"{python} cannot import ministack"}
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    env = _quiet_env()
    env.update({"GATEWAY_PORT": str(port), "BIND_HOST": LOOPBACK, "LOG_LEVEL": "WARNING"})
    try:
        with child_server(
            [python, "-m", "ministack"],
            env,
            f"{endpoint}/_ministack/health",
            args.log_dir / "bench-ministack.log",
        ) as server:
            result = http_run(endpoint, "000000000000", args.executions, args.concurrency, server.pid)
    except Exception as exc:
        return {
            "ran": False,
            "name": "ministack",
            "version": version,
            "reason": f"{type(exc).__name__}: {exc}",
        }
    result.update({"ran": True, "name": "ministack", "version": version, "server": "child process, loopback"})
    ours_http = (ours or {}).get("http", {}).get("executions_per_s")
    result["ratio_ours_http_over_peer"] = _ratio(ours_http, result["executions_per_s"])
    return result


# --- orders end to end ---------------------------------------------------------------------------------

ORDER_P95_TARGET_S = 5.0
ORDER_KEEP_UP_FRACTION = 0.9
ORDER_DRAIN_DEADLINE_S = 120.0
TERMINAL_EXECUTION_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def _normal_order(order_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = json.loads((REPO_ROOT / "localaws" / "samples" / "normal.json").read_text())
    detail["orderId"] = order_id
    return detail


def _executions_by_order(sfn: Any, machine_arn: str, order_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The execution of each of ``order_ids`` seen so far (by the orderId in its input), terminal or not."""
    found: dict[str, dict[str, Any]] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn):
        for execution in page["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            order_id = json.loads(described.get("input") or "{}").get("detail", {}).get("orderId")
            if order_id in order_ids:
                found[order_id] = described
    return found


def _count_terminal(sfn: Any, machine_arn: str) -> int:
    return sum(
        1
        for status in TERMINAL_EXECUTION_STATUSES
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine_arn, statusFilter=status
        )
        for _ in page["executions"]
    )


def run_order_step(
    local: Any, machine_arn: str, bus: str, *, orders: int, rate: float, tag: str
) -> dict[str, Any]:
    """Put ``orders`` OrderPlaced events at ``rate`` per second; follow each to its execution's end."""
    from services.shared.contract import EVENT_SOURCE, ORDER_PLACED

    events = local.client("events")
    sfn = local.client("stepfunctions")
    terminal_before = _count_terminal(sfn, machine_arn)
    order_ids = [f"bench-{tag}-{n:05d}" for n in range(orders)]
    put_at: dict[str, float] = {}
    put_errors: list[str] = []
    began = time.time()
    for n, order_id in enumerate(order_ids):
        due = began + n / rate
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        put_at[order_id] = time.time()
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": ORDER_PLACED,
            "Detail": json.dumps(_normal_order(order_id)),
            "EventBusName": bus,
        }
        response = events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            put_errors.append(str(response["Entries"][0].get("ErrorCode")))
    sent_s = time.time() - began
    deadline = time.monotonic() + ORDER_DRAIN_DEADLINE_S
    while time.monotonic() < deadline:
        if _count_terminal(sfn, machine_arn) - terminal_before >= orders - len(put_errors):
            break
        time.sleep(0.25)
    executions = _executions_by_order(sfn, machine_arn, set(order_ids))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    last_stop = began
    for order_id, described in executions.items():
        statuses[described["status"]] = statuses.get(described["status"], 0) + 1
        stop = described.get("stopDate")
        if described["status"] in TERMINAL_EXECUTION_STATUSES and stop is not None:
            stopped = stop.timestamp()
            latencies.append(stopped - put_at[order_id])
            last_stop = max(last_stop, stopped)
    completed = len(latencies)
    wall_s = last_stop - began
    p95 = percentile(latencies, 0.95)
    completion_rate = round(completed / wall_s, 2) if wall_s > 0 else None
    return {
        "offered_rate_per_s": rate,
        "orders": orders,
        "put_errors": put_errors[:3],
        "send_s": round(sent_s, 2),
        "completed": completed,
        "statuses": statuses,
        "orders_per_s": completion_rate,
        "latency_s": {"p50": percentile(latencies, 0.50), "p95": p95, "max": percentile(latencies, 1.0)},
        "kept_up": bool(
            completed == orders
            and completion_rate is not None
            and completion_rate >= ORDER_KEEP_UP_FRACTION * min(rate, orders / max(sent_s, 1e-9))
            and p95 is not None
            and p95 < ORDER_P95_TARGET_S
        ),
    }


def orders_part(args: argparse.Namespace) -> dict[str, Any]:
    """Whole orders through LocalAws at paced rates (see the module docstring)."""
    import tempfile

    from infra.naming import Names, configured_prefix
    from localaws.local_aws import LocalAws
    from localaws.tools.orders import seed_catalogue

    cdk_out = REPO_ROOT / "cdk.out"
    if not (cdk_out / "manifest.json").is_file():
        return {"ran": False, "reason": f"no synthesized app in {cdk_out} (run `make synth`)"}
    names = Names(configured_prefix())
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="localaws-bench-") as run_dir:
        local = LocalAws(
            cdk_out=cdk_out,
            port=free_port(),
            run_dir=Path(run_dir),
            watch_assembly=False,
            workers_per_function=args.workers,
        )
        try:
            local.start()
            table = seed_catalogue(local.report, local.region)
            machine_arn = local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"]
            bus = names("orders")
            warm = run_order_step(local, machine_arn, bus, orders=5, rate=5.0, tag="warm")
            for rate in args.order_rates:
                # 1000 units per SKU and two per order: restock so no step runs out (OutOfStock path).
                seed_catalogue(local.report, local.region)
                step = run_order_step(
                    local, machine_arn, bus, orders=args.orders, rate=rate, tag=f"r{rate:g}"
                )
                steps.append(step)
                if not step["kept_up"]:
                    break  # past saturation: higher rates only queue up more
        except Exception as exc:
            return {"ran": False, "reason": f"{type(exc).__name__}: {exc}", "steps": steps}
        finally:
            local.stop()
    sustained = [step for step in steps if step["kept_up"]]
    best = max(sustained, key=lambda step: step["orders_per_s"]) if sustained else None
    return {
        "ran": True,
        "sample": "the bundled sample normal.json with fresh orderIds",
        "inventory_table": table,
        "workers_per_function": args.workers,
        "warmup": {"completed": warm["completed"], "statuses": warm["statuses"]},
        "steps": steps,
        "sustained": (
            {
                "orders_per_s": best["orders_per_s"],
                "offered_rate_per_s": best["offered_rate_per_s"],
                "latency_s": best["latency_s"],
            }
            if best
            else None
        ),
        "target": {"orders_per_s": 100, "p95_s": ORDER_P95_TARGET_S},
    }


# --- entry point --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300, help="executions per measured run (300)")
    parser.add_argument("--concurrency", type=int, default=8, help="callers with one execution in flight (8)")
    parser.add_argument(
        "--no-ablation", dest="ablation", action="store_false", help="skip leave-one-out runs"
    )
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the moto-over-HTTP run")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip the MiniStack run")
    parser.add_argument("--no-orders", dest="orders_part", action="store_false", help="skip the orders run")
    parser.add_argument("--no-engine", dest="engine_part", action="store_false", help="skip parts 1 and 2")
    parser.add_argument("--orders", type=int, default=200, help="orders per rate step (200)")
    parser.add_argument(
        "--order-rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        default=[5.0, 10.0, 20.0, 40.0, 100.0],
        help="offered orders/s, one step each, stopping at the first that does not keep up (5,10,20,40,100)",
    )
    parser.add_argument("--workers", type=int, default=2, help="Lambda workers per function (2)")
    parser.add_argument(
        "--ministack-python", help="a Python with `ministack` installed (or MINISTACK_PYTHON)"
    )
    parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    parser.add_argument("--serve-moto", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.executions <= 100_000 or not 1 <= args.concurrency <= 64:
        parser.error("--executions must be 1..100000 and --concurrency 1..64")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_moto:
        serve_moto(args.serve_moto)
        return 0
    report: dict[str, Any] = {}
    if args.engine_part:
        report["engine"] = engine_part(args)
        report["peer"] = (
            peer_part(args, report["engine"]) if args.peer else {"ran": False, "reason": "--no-peer"}
        )
    report["orders"] = orders_part(args) if args.orders_part else {"ran": False, "reason": "--no-orders"}
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
