"""What an execution did, read from its ``GetExecutionHistory`` events: the states it entered, and its path.

Every ``*StateEntered`` event starts a *run* of a state. Other events belong to the run their
``previousEventId`` chain leads back to (Map iterations interleave, so list order is not enough). A run ends
``succeeded``; ``caught`` when it failed and a Catch moved on; ``failed``; or is still ``running``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# Execution statuses after which the history no longer grows.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_ENTERED = "stateEnteredEventDetails"

SUCCEEDED = "succeeded"
FAILED = "failed"
CAUGHT = "caught"
RUNNING = "running"
# How one state is shown when it ran several times (Map items, loops): the most telling outcome wins.
_SEVERITY = {FAILED: 3, RUNNING: 2, CAUGHT: 1, SUCCEEDED: 0}
_SCHEDULED = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")
_NOT_A_FAILURE = ("MapIterationFailed", "ExecutionFailed")


@dataclass
class StateRun:
    name: str
    type: str
    entered_event: int
    entered_at: str
    input: str | None = None
    output: str | None = None
    exited_at: str | None = None
    error: str | None = None
    cause: str | None = None
    retries: int = 0
    status: str = RUNNING
    _failing: bool = field(default=False, repr=False)


@dataclass
class Transition:
    source: str
    target: str
    kind: str  # next | catch


@dataclass
class ExecutionPath:
    runs: list[StateRun]
    transitions: list[Transition]
    states: dict[str, str]  # state name → status shown on the graph
    event_states: dict[int, str]  # history event id → the state it belongs to

    @property
    def current_state(self) -> str | None:
        """The state entered last (what a live view shows as 'where the order is now')."""
        return self.runs[-1].name if self.runs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": [{k: v for k, v in asdict(run).items() if not k.startswith("_")} for run in self.runs],
            "transitions": [asdict(t) for t in self.transitions],
            "states": self.states,
            "currentState": self.current_state,
        }


def read_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first (``sfn`` is a Step Functions client)."""
    paginator = sfn.get_paginator("get_execution_history")
    return [event for page in paginator.paginate(executionArn=execution_arn) for event in page["events"]]


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """The names of the states entered, in the order the history records them."""
    return [event[_ENTERED]["name"] for event in events if _ENTERED in event]


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _timestamp(event: dict[str, Any]) -> str:
    value = event.get("timestamp")
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def execution_path(events: list[dict[str, Any]], execution_status: str) -> ExecutionPath:
    """Runs, transitions and per-state status of one execution (``events`` as GetExecutionHistory returns)."""
    runs: list[StateRun] = []
    owner: dict[int, StateRun] = {}
    by_id: dict[int, dict[str, Any]] = {}
    transitions: list[Transition] = []
    seen_transitions: set[tuple[str, str, str]] = set()

    def chain(event: dict[str, Any]) -> list[StateRun]:
        """Runs met walking back the previousEventId chain, nearest first."""
        found: list[StateRun] = []
        previous = int(event.get("previousEventId") or 0)
        steps = 0
        while previous and steps < 10_000:
            if previous in owner and (not found or found[-1] is not owner[previous]):
                found.append(owner[previous])
            previous = int(by_id.get(previous, {}).get("previousEventId") or 0)
            steps += 1
        return found

    for event in sorted(events, key=lambda e: int(e["id"])):
        event_id = int(event["id"])
        by_id[event_id] = event
        kind: str = event["type"]
        details = _details(event)

        if kind.endswith("StateEntered"):
            run = StateRun(
                name=details.get("name", "?"),
                type=kind.removesuffix("StateEntered"),
                entered_event=event_id,
                entered_at=_timestamp(event),
                input=details.get("input"),
            )
            source = next(iter(chain(event)), None)
            if source is not None and source.exited_at is None and source._failing:
                source.status = CAUGHT  # a Catch without a StateExited event (as AWS records it)
                source._failing = False
            if source is not None and source.status in (SUCCEEDED, CAUGHT):
                key = (source.name, run.name, "catch" if source.status == CAUGHT else "next")
                if key not in seen_transitions:
                    seen_transitions.add(key)
                    transitions.append(Transition(*key))
            if run.type == "Fail":
                run.status = FAILED
                run.error, run.cause = details.get("error"), details.get("cause")
            runs.append(run)
            owner[event_id] = run
            continue

        if kind.endswith("StateExited"):
            name = details.get("name")
            run_or_none = next((r for r in chain(event) if r.name == name), None) or next(
                (r for r in reversed(runs) if r.name == name and r.exited_at is None), None
            )
            if run_or_none is not None:
                run_or_none.exited_at = _timestamp(event)
                run_or_none.output = details.get("output")
                run_or_none.status = CAUGHT if run_or_none._failing else SUCCEEDED
                run_or_none._failing = False
                owner[event_id] = run_or_none
            continue

        # Map*/Parallel* events belong to the Map/Parallel run, the rest to the nearest run.
        wanted_type = next((t for t in ("Map", "Parallel") if kind.startswith(t)), None)
        candidates = chain(event)
        run_or_none = next((r for r in candidates if wanted_type in (None, r.type)), None)
        if run_or_none is None:
            continue
        owner[event_id] = run_or_none
        if kind == "ExecutionFailed" and run_or_none.type == "Fail":
            run_or_none.error, run_or_none.cause = details.get("error"), details.get("cause")
        elif kind in _SCHEDULED and run_or_none._failing:
            run_or_none.retries += 1  # a Retry clause: the failure is not final
            run_or_none._failing = False
        elif kind.endswith(("Failed", "TimedOut")) and kind not in _NOT_A_FAILURE:
            run_or_none._failing = True
            # A Map or Parallel fails with the error of the item or branch that failed.
            failed_inside = next((r for r in candidates if r.error), None)
            if details.get("error"):
                run_or_none.error, run_or_none.cause = details.get("error"), details.get("cause")
            elif failed_inside is not None:
                run_or_none.error, run_or_none.cause = failed_inside.error, failed_inside.cause
            else:
                run_or_none.error = run_or_none.error or kind

    for run in runs:
        if run.status == RUNNING and (run._failing or execution_status not in ("RUNNING", "")):
            run.status = FAILED
    states: dict[str, str] = {}
    for run in runs:
        if _SEVERITY[run.status] >= _SEVERITY.get(states.get(run.name, SUCCEEDED), 0):
            states[run.name] = run.status
    event_states = {event_id: run.name for event_id, run in owner.items()}
    return ExecutionPath(runs=runs, transitions=transitions, states=states, event_states=event_states)
