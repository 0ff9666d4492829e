"""The status-change events of each execution, observed as any rule's target would: an SQS queue on a rule.

Step Functions puts ``Step Functions Execution Status Change`` events on the default bus. The console owns a
rule there, ``<prefix>-console-status-events``, whose target is a queue of the same name, and keeps what
arrives per execution, for the execution's timeline. Only the public APIs are used, so the console shows
what a user's own rule would receive. Like the notification tap, it starts with the console's first
request: executions that changed status before the console was first opened show no such events.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localaws.console.tap import QueueTap

if TYPE_CHECKING:
    from infra.naming import Names

STATUS_EVENTS = "console-status-events"
PATTERN = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
KEEP_EXECUTIONS = 2000


def _iso_millis(millis: Any) -> str | None:
    if not isinstance(millis, int | float):
        return None
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC).isoformat()


def timeline_entry(event: dict[str, Any]) -> dict[str, Any]:
    """One status-change event as the timeline shows it: when the status began, and what it says."""
    detail = event.get("detail") or {}
    status = detail.get("status")
    return {
        "id": event.get("id"),
        "status": status,
        "at": _iso_millis(detail.get("startDate" if status == "RUNNING" else "stopDate"))
        or event.get("time"),
        "error": detail.get("error"),
        "cause": detail.get("cause"),
    }


class StatusEventTap(QueueTap):
    """A background reader of the console's status-event queue; ``events_for`` is an execution's list."""

    thread_name = "console-status-events"

    def __init__(self, clients: Callable[[str], Any], names: Names) -> None:
        super().__init__(clients, names)
        self._name = names(STATUS_EVENTS)
        self._by_execution: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def events_for(self, execution_arn: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_execution.get(execution_arn, []))

    def sync(self) -> None:
        """The queue, and the rule on the default bus that sends every status change to it."""
        events = self._clients("events")
        url, arn = self._make_queue(self._name)
        rule_arn = events.put_rule(Name=self._name, EventPattern=json.dumps(PATTERN))["RuleArn"]
        self._let_send(url, arn, "events.amazonaws.com", rule_arn)
        events.put_targets(Rule=self._name, Targets=[{"Id": "console", "Arn": arn}])
        self._queue_url = url

    def _keep(self, body: str) -> int:
        try:
            event = json.loads(body)
            execution_arn = event["detail"]["executionArn"]
        except (ValueError, KeyError, TypeError):
            return 0
        with self._lock:
            self._by_execution.setdefault(execution_arn, []).append(timeline_entry(event))
            self._by_execution.move_to_end(execution_arn)
            while len(self._by_execution) > KEEP_EXECUTIONS:
                self._by_execution.popitem(last=False)
        return 1
