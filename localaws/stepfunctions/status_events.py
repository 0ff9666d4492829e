"""``Step Functions Execution Status Change`` events on the default bus, as Step Functions sends them.

On AWS every status change of a Standard execution (RUNNING, then SUCCEEDED, FAILED, TIMED_OUT or ABORTED)
becomes an event with ``source: aws.states`` on the account's default event bus; its ``detail`` is what
DescribeExecution answers (``startDate`` and ``stopDate`` in epoch milliseconds; ``input`` and ``output``
JSON strings). Express executions send none. moto sends none either: this module hooks the start of an
execution and the moment its worker reports it ended, and puts the event through moto's ``PutEvents`` in
process, so rules match it and their targets get it like any other event (the SQS targets by moto, the
Step Functions, Lambda and SNS ones by ``localaws.delivery.eventbridge``).

The RUNNING event always goes out before the execution's end event, even when the execution ends before
StartExecution has returned.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from moto.events.models import events_backends
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from localaws.patches import registry

logger = logging.getLogger(__name__)

SOURCE = "aws.states"
DETAIL_TYPE = "Step Functions Execution Status Change"
STANDARD = "STANDARD"

_EXECUTION = "moto.stepfunctions.parser.backend.execution.Execution"
_START = f"{_EXECUTION}.start"
_TERMINATED = "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication.terminated"
registry.register("moto.events.models.events_backends", "the default bus the events are put on, in-process")
registry.register(
    "moto.stepfunctions.parser.asl.utils.encoding.to_json_str",
    "input and output as DescribeExecution gives them",
)
registry.register_attributes(
    _EXECUTION,
    [
        "exec_arn",
        "name",
        "exec_status",
        "start_date",
        "stop_date",
        "input_data",
        "output",
        "error",
        "cause",
        "account_id",
        "region_name",
        "state_machine",
    ],
    "the event's detail is the execution as DescribeExecution shows it",
)
registry.register_attributes(
    "moto.stepfunctions.models.StateMachine", ["type", "arn"], "Standard or Express; the ARN in the event"
)
registry.register_attributes(
    "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication",
    ["execution"],
    "the execution whose worker reports that it ended",
)

# Execution ARN → set once its RUNNING event is out; the end event waits for it.
_running_sent: dict[str, threading.Event] = {}
_lock = threading.Lock()
_RUNNING_EVENT_WAIT_SECONDS = 10.0


def _millis(moment: Any) -> int | None:
    if not isinstance(moment, dt.datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _json_text(value: Any) -> str:
    return str(to_json_str(value, separators=(",", ":")))


def _status(execution: Any) -> str:
    status = execution.exec_status
    return str(getattr(status, "value", status))


def execution_detail(execution: Any, status: str | None = None) -> dict[str, Any]:
    """The event's ``detail``: the fields of DescribeExecution, with dates in epoch milliseconds.

    ``status`` is the execution's current one unless given: the RUNNING event is built as the execution
    stood when it started, since a short execution can end before its start has returned.
    """
    status = status or _status(execution)
    running = status == "RUNNING"
    succeeded = status == "SUCCEEDED"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": None if running else _millis(execution.stop_date),
        "input": _json_text(execution.input_data),
        "inputDetails": {"included": True},
        "output": _json_text(execution.output) if succeeded else None,
        "outputDetails": {"included": True} if succeeded else None,
        "error": None if running else execution.error or None,
        "cause": None if running else execution.cause or None,
    }


def _sends_events(execution: Any) -> bool:
    # The state machine's ``type``: moto sets every execution's ``sm_type`` to STANDARD.
    return str(execution.state_machine.type) == STANDARD


def put_status_event(execution: Any, status: str | None = None) -> None:
    """Put the execution's status (its current one unless given) on its account's default bus.

    Never fails the execution."""
    try:
        backend = events_backends[execution.account_id][execution.region_name]
        answer = backend.put_events(
            [
                {
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(execution_detail(execution, status)),
                    "Resources": [execution.exec_arn],
                }
            ]
        )
        failed = [entry for entry in answer if "ErrorCode" in entry]
        if failed:
            logger.warning("status event of %s refused: %s", execution.exec_arn, failed)
    except Exception:
        # Best effort, as on AWS: a rule's target failing must not touch the execution.
        logger.exception("status event of %s (%s) not sent", execution.exec_arn, status or _status(execution))


def _start(self: Any) -> None:
    if not _sends_events(self):
        registry.original(_START)(self)
        return
    sent = threading.Event()
    with _lock:
        _running_sent[self.exec_arn] = sent
    try:
        registry.original(_START)(self)
    except BaseException:
        with _lock:
            _running_sent.pop(self.exec_arn, None)
        raise
    try:
        put_status_event(self, "RUNNING")
    finally:
        sent.set()


def _terminated(self: Any) -> None:
    registry.original(_TERMINATED)(self)
    execution = self.execution
    if not _sends_events(execution):
        return
    with _lock:
        sent = _running_sent.pop(execution.exec_arn, None)
    if sent is not None:
        sent.wait(_RUNNING_EVENT_WAIT_SECONDS)
    put_status_event(execution)


STATUS_EVENTS = registry.PatchSet(
    "execution status events",
    [
        registry.Patch(_START, _start, "an execution that starts puts its RUNNING event on the default bus"),
        registry.Patch(
            _TERMINATED, _terminated, "an execution that ends puts its end status on the default bus"
        ),
    ],
    reads=[("moto.events.models.EventsBackend.put_events", "the event goes through rules like any other")],
)
