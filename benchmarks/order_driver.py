"""The orders part's load driver, in a process of its own, as a user's process posts orders.

It puts one ``OrderPlaced`` event per order on the bus at a paced rate (boto3 over HTTP, as the CLI does),
then polls the workflow until every order's execution has ended. Run inside the endpoint's process, as it
was before, it cost about 2.3 ms of CPU per order there and took the endpoint's GIL for it; here its CPU is
its own process's, which ``benchmarks.cpu`` names from ``cpu.OUTSIDE_THE_STACK`` and keeps out of the
stack's figure. What the endpoint spends serving its calls stays in the stack's, as it would for a user.

``DriverProcess`` starts it, waits until its clients are made, lets it go when the step's meter runs, reads
what it sent (``Sent``) from its stdout, and lets it end once the meter has stopped: one JSON line in (the
step), ``ready``, ``go``, one JSON line out, the end of its input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks import cpu
from localaws.endpoint.defaults import local_client
from localaws.tools.orders import OrderError, put_order, sample

ORDER_SAMPLE = "normal"
ORDER_DRAIN_DEADLINE_S = 120.0
DRAIN_POLL_S = 0.25
READY = "ready"
GO = "go"
ROLE = "load driver"


@dataclass
class Sent:
    """When each order's event was put, and what PutEvents refused."""

    began: float
    put_at: dict[str, float] = field(default_factory=dict)
    put_errors: list[str] = field(default_factory=list)
    send_s: float = 0.0


@dataclass(frozen=True)
class Step:
    """What the driver is asked to do: these orders at this rate, then wait for them to end."""

    endpoint_url: str
    region: str
    bus: str
    machine_arn: str
    order_ids: list[str]
    rate: float
    terminal_before: int


def count_executions(sfn: Any, machine_arn: str, status: str | None = None) -> int:
    """The machine's executions (with ``status`` only, if given), page by page."""
    filters = {} if status is None else {"statusFilter": status}
    return sum(
        len(page["executions"])
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, **filters)
    )


def count_terminal(sfn: Any, machine_arn: str) -> int:
    return count_executions(sfn, machine_arn) - count_executions(sfn, machine_arn, "RUNNING")


def put_paced(events: Any, bus: str, order_ids: list[str], rate: float) -> Sent:
    """Put one OrderPlaced event per order, ``rate`` per second, on a schedule fixed from the first put."""
    sent = Sent(began=time.time())
    for n, order_id in enumerate(order_ids):
        delay = sent.began + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        sent.put_at[order_id] = time.time()
        try:
            put_order(events, sample(ORDER_SAMPLE, order_id=order_id), bus)
        except OrderError as exc:
            sent.put_errors.append(str(exc))
    sent.send_s = time.time() - sent.began
    return sent


def drain(sfn: Any, machine_arn: str, terminal_before: int, expected: int) -> None:
    """Wait, bounded, until ``expected`` more executions are terminal than before the step."""
    deadline = time.monotonic() + ORDER_DRAIN_DEADLINE_S
    while time.monotonic() < deadline:
        # Listing only the running ones while some run: the full list grows with every step, and serving
        # it would count in the stack's CPU per order.
        if count_executions(sfn, machine_arn, "RUNNING") == 0 and (
            count_terminal(sfn, machine_arn) - terminal_before >= expected
        ):
            return
        time.sleep(DRAIN_POLL_S)


class DriverProcessError(RuntimeError):
    """The driver process ended without the step's answer."""


class DriverProcess:
    """One step's driver process: started and ready (its clients made) before the step's meter starts, and
    kept until the meter has stopped, so that the meter's last sample still sees all of its CPU."""

    def __init__(self, step: Step) -> None:
        environment = {**os.environ, cpu.OUTSIDE_THE_STACK: ROLE}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.order_driver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
            text=True,
        )
        self._send(json.dumps(asdict(step)))
        if self._answer() != READY:
            self.close()
            raise DriverProcessError(
                f"the load driver ended before it was ready (exit {self._process.returncode})"
            )

    def __enter__(self) -> DriverProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def _answer(self) -> str:
        """Its next line; bounded: a driver silent for twice its drain deadline is killed."""
        assert self._process.stdout is not None
        watchdog = threading.Timer(ORDER_DRAIN_DEADLINE_S * 2, self._process.kill)
        watchdog.start()
        try:
            return self._process.stdout.readline().strip()
        finally:
            watchdog.cancel()

    def run(self) -> Sent:
        """Let it go; what it sent, once every order has ended (or its drain deadline passed)."""
        self._send(GO)
        answer = self._answer()
        if not answer:
            raise DriverProcessError(
                f"the load driver ended without its answer (exit {self._process.poll()})"
            )
        return Sent(**json.loads(answer))

    def close(self) -> None:
        """Let it end (its stdin closed), or end it."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main() -> int:
    step = Step(**json.loads(sys.stdin.readline()))
    events = local_client("events", endpoint_url=step.endpoint_url, region=step.region)
    sfn = local_client("stepfunctions", endpoint_url=step.endpoint_url, region=step.region)
    print(READY, flush=True)
    sys.stdin.readline()  # go: the step's meter runs
    sent = put_paced(events, step.bus, step.order_ids, step.rate)
    drain(sfn, step.machine_arn, step.terminal_before, len(step.order_ids) - len(sent.put_errors))
    print(json.dumps(asdict(sent)), flush=True)
    sys.stdin.readline()  # the end of its input: the step's meter has stopped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
