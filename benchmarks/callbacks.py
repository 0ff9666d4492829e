"""The callbacks part: what a task callback and an execution lookup cost as the engine holds more executions.

moto walks every execution it holds to find the task waiting on a token (SendTaskSuccess, SendTaskFailure,
SendTaskHeartbeat) and walks a state machine's executions to find one by ARN (DescribeExecution) or by name
(StartExecution's idempotency check); ``localaws.patches.speedups.execution_index`` answers from an index.
In one in-process moto world with every speed-up installed, this part finishes N executions of a state
machine (N rising, e.g. 0, 1,000, 10,000; a Choice sends them straight to the end), then times each call
on the backend with and without the index (the ablation switch, uninstalled and reinstalled in the same
world): CPU of the calling thread per call, median over ``calls`` calls. The executions that wait on a
token (same state machine, as in a soak) are started fresh for each measurement.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from moto import mock_aws
from moto.stepfunctions.parser.api import InvalidToken
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from benchmarks.workload import cached_clients
from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.speedups.execution_index import EXECUTION_INDEX

ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/bench-states"
HELD_BATCH = 500
DEADLINE_S = 600.0
POLL_S = 0.01
CALLS = (
    "send_task_heartbeat",
    "send_task_success",
    "send_task_failure",
    "describe_execution",
    "start_execution",
)


def _definition(queue_url: str) -> str:
    return json.dumps(
        {
            "StartAt": "Waits",
            "States": {
                "Waits": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.wait", "BooleanEquals": True, "Next": "Ask"}],
                    "Default": "Done",
                },
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 3600,
                    "TimeoutSeconds": 7200,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                    "Next": "Done",
                },
                "Done": {"Type": "Pass", "End": True},
            },
        }
    )


def _wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"callbacks benchmark: {what} after {DEADLINE_S} s")
        time.sleep(POLL_S)


def thread_cpu_us(call: Callable[[], Any]) -> float:
    started = time.thread_time_ns()
    call()
    return (time.thread_time_ns() - started) / 1000.0


class _World:
    """One moto world, one state machine: held executions end at once, measured ones wait on a token."""

    def __init__(self) -> None:
        client = cached_clients()
        sfn, sqs = client("stepfunctions"), client("sqs")
        self.sqs = sqs
        self.queue_url = sqs.create_queue(QueueName="bench-callbacks")["QueueUrl"]
        # One state machine, as in a soak: the held executions end at once, the measured ones wait.
        self.arn = sfn.create_state_machine(
            name="bench-callbacks", definition=_definition(self.queue_url), roleArn=ROLE
        )["stateMachineArn"]
        self.backend = stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][DEFAULT_REGION]
        self._names = 0
        self.measured = 0  # executions started by the measurements, beside the held ones

    def _name(self) -> str:
        self._names += 1
        return f"run-{self._names}"

    def _machine(self, arn: str) -> Any:
        return self.backend.describe_state_machine(arn)

    def hold(self, count: int) -> None:
        """Finish executions that wait for nothing until ``count`` are held beside the measured ones."""
        executions = self._machine(self.arn).executions
        while len(executions) - self.measured < count:
            for _ in range(min(HELD_BATCH, count + self.measured - len(executions))):
                self.backend.start_execution(self.arn, self._name(), '{"wait": false}')
            _wait_until(
                lambda: all(e.status != "RUNNING" for e in executions), "held executions still running"
            )

    def waiting(self, count: int) -> list[tuple[str, str]]:
        """Start ``count`` executions that wait on a token; (execution ARN, token) of each."""
        arns = [
            self.backend.start_execution(self.arn, self._name(), '{"wait": true}').execution_arn
            for _ in range(count)
        ]
        tokens: list[str] = []

        def received() -> bool:
            for message in self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            ):
                tokens.append(json.loads(message["Body"])["token"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            return len(tokens) >= count

        _wait_until(received, "tokens not all sent")
        wanted = set(arns)
        by_execution = {
            e.execution_arn: e.exec_worker.env.callback_pool_manager
            for e in self._machine(self.arn).executions
            if e.execution_arn in wanted
        }
        return [(arn, next(t for t in tokens if by_execution[arn].get(t) is not None)) for arn in arns]

    def index_what_is_held(self) -> None:
        """The first callback after an install indexes every execution already held: not a measured call."""
        with contextlib.suppress(InvalidToken):
            self.backend.send_task_heartbeat("warm-up")

    def measure(self, calls: int) -> dict[str, float]:
        """Median CPU per call, in µs, of each call."""
        waiting = self.waiting(calls)
        self.measured += 2 * calls
        spent: dict[str, list[float]] = {name: [] for name in CALLS}
        backend = self.backend
        for arn, token in waiting:
            spent["describe_execution"].append(thread_cpu_us(partial(backend.describe_execution, arn)))
            spent["send_task_heartbeat"].append(thread_cpu_us(partial(backend.send_task_heartbeat, token)))
            spent["send_task_success"].append(thread_cpu_us(partial(backend.send_task_success, token, "{}")))
        for _arn, token in waiting:
            # The task has its answer: moto's SendTaskFailure walks every execution, ended or not.
            spent["send_task_failure"].append(
                thread_cpu_us(partial(backend.send_task_failure, token, error="Late", cause="benchmark"))
            )
        for _ in range(calls):
            name = self._name()
            spent["start_execution"].append(
                thread_cpu_us(partial(backend.start_execution, self.arn, name, '{"wait": false}'))
            )
        _wait_until(
            lambda: all(e.status != "RUNNING" for e in self._machine(self.arn).executions),
            "waiting executions did not end",
        )
        return {name: round(statistics.median(values), 1) for name, values in spent.items()}


@contextlib.contextmanager
def world_with_speedups() -> Iterator[None]:
    """A fresh in-process moto world with every speed-up in; moto's own code again afterwards."""
    speedups.uninstall()
    speedups.install()
    try:
        with mock_aws(config=MOTO_CONFIG):
            yield
    finally:
        speedups.uninstall()


def callbacks_part(*, held: tuple[int, ...] = (0, 1_000, 10_000), calls: int = 50) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    started = time.monotonic()
    with world_with_speedups():
        world = _World()
        for count in held:
            world.hold(count)
            step: dict[str, Any] = {"held_executions": count}
            for mode in ("moto", "index"):
                if mode == "moto":
                    EXECUTION_INDEX.uninstall()
                else:
                    EXECUTION_INDEX.install()
                    world.index_what_is_held()
                step[mode] = world.measure(calls)
            step["moto_over_index"] = {
                name: round(step["moto"][name] / step["index"][name], 2) if step["index"][name] else None
                for name in CALLS
            }
            steps.append(step)
    return {
        "ran": True,
        "what": "CPU of the calling thread per backend call, median µs, with N finished executions held",
        "calls_per_measure": calls,
        "threads": threading.active_count(),
        "seconds": round(time.monotonic() - started, 1),
        "steps": steps,
    }
