"""The one way the workflow suite waits for an execution and reads what it did.

Everything here uses only the public Step Functions API (DescribeExecution, GetExecutionHistory), so it reads
the embedded engine, Step Functions Local and AWS alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from localaws.stepfunctions.history import TERMINAL_STATUSES, states_entered

_ENTERED = "stateEnteredEventDetails"


class ExecutionNotFinishedError(AssertionError):
    """The execution was still running when the wait ran out."""


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass
class ExecutionRecord:
    """A finished execution: its status, result and full history."""

    arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        """The states entered, in the order the history records them."""
        return states_entered(self.events)

    def _state_of(self, event: dict[str, Any]) -> str | None:
        # Follow previousEventId back to the event's StateEntered (Map iterations interleave in the history).
        by_id = {e["id"]: e for e in self.events}
        current: dict[str, Any] | None = event
        while current is not None:
            if _ENTERED in current:
                return str(current[_ENTERED]["name"])
            current = by_id.get(current.get("previousEventId", 0))
        return None

    def calls(self, state: str) -> list[Any]:
        """What ``state`` sent to its service, one entry per attempt (retries included)."""
        sent = []
        for event in self.events:
            if "taskScheduledEventDetails" in event:
                request = _json(event["taskScheduledEventDetails"].get("parameters"))
            elif "lambdaFunctionScheduledEventDetails" in event:
                request = _json(event["lambdaFunctionScheduledEventDetails"].get("input"))
            else:
                continue
            if self._state_of(event) == state:
                sent.append(request)
        return sent

    def input_of(self, state: str) -> Any:
        """The input of ``state`` when last entered (for a Fail state: the data the execution ends with)."""
        inputs = [
            _json(e[_ENTERED].get("input")) for e in self.events if e.get(_ENTERED, {}).get("name") == state
        ]
        if not inputs:
            raise AssertionError(f"{state!r} was never entered")
        return inputs[-1]

    def history_text(self) -> str:
        lines = [f"execution {self.arn}: {self.status} {self.error or ''} {self.cause or ''}".rstrip()]
        for event in self.events:
            details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
            text = json.dumps(details, default=str)
            lines.append(f"  {event['id']:>4} {event['type']:<28} {text[:400]}")
        return "\n".join(lines)


def read_execution(sfn: Any, execution_arn: str) -> ExecutionRecord:
    described = sfn.describe_execution(executionArn=execution_arn)
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return ExecutionRecord(
        arn=execution_arn,
        status=described["status"],
        output=_json(described.get("output")),
        error=described.get("error"),
        cause=described.get("cause"),
        events=events,
    )


# Polls start this often and slow down by this factor to at most the last: most executions end within a
# second, and each poll costs the endpoint and this process a request's CPU, which the executions need.
FIRST_POLL_INTERVAL = 0.1
POLL_BACKOFF = 1.5
LAST_POLL_INTERVAL = 0.5
# For a wait that nothing else polls beside (the integration orders, checked one at a time at the session's
# end): the session ends when the last of them does, so a poll every 0.2 s, not 0.5, sees that end sooner
# (0.1 s later on average, not 0.25) for a request's CPU every 0.2 s.
ALONE_LAST_POLL_INTERVAL = 0.2


def wait_for_execution(
    sfn: Any,
    execution_arn: str,
    *,
    timeout: float = 60.0,
    interval: float = FIRST_POLL_INTERVAL,
    longest_interval: float = LAST_POLL_INTERVAL,
) -> ExecutionRecord:
    """Poll until the execution reaches any terminal status; then read its whole (paginated) history.

    The polls start ``interval`` apart and slow down to ``longest_interval`` apart."""
    deadline = time.monotonic() + timeout
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status in TERMINAL_STATUSES:
            return read_execution(sfn, execution_arn)
        if time.monotonic() > deadline:
            record = read_execution(sfn, execution_arn)
            raise ExecutionNotFinishedError(f"still {status} after {timeout:.0f} s\n{record.history_text()}")
        time.sleep(interval)
        interval = min(interval * POLL_BACKOFF, max(interval, longest_interval))


@contextmanager
def explained_by(record: ExecutionRecord) -> Iterator[None]:
    """Assertions inside fail with the execution's history appended, so a mismatch explains itself."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n\n{record.history_text()}") from None
