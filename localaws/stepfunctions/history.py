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
    iteration: tuple[str, int] | None = None  # (Map state, item index) of the Map iteration it ran in
    _failing: bool = field(default=False, repr=False)


@dataclass
class MapIteration:
    """One item of a Map state's run: its index, how it ended, and the runs of its states (by position)."""

    map_state: str
    index: int
    status: str = RUNNING
    runs: list[int] = field(default_factory=list)  # indexes into ExecutionPath.runs


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
    iterations: list[MapIteration] = field(default_factory=list)

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
            "iterations": [asdict(iteration) for iteration in self.iterations],
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


# Longest previousEventId chain walked back: a malformed history that loops must not hang the reader.
_MAX_CHAIN_STEPS = 10_000


class _HistoryWalk:
    """One pass over the events, oldest first: the runs met so far and the run each event belongs to."""

    def __init__(self) -> None:
        self.runs: list[StateRun] = []
        self.owner: dict[int, StateRun] = {}
        self.transitions: list[Transition] = []
        self._by_id: dict[int, dict[str, Any]] = {}
        self._seen_transitions: set[tuple[str, str, str]] = set()
        # MapIterationStarted event id → its iteration; and every iteration by (Map state, index).
        self._iteration_starts: dict[int, MapIteration] = {}
        self.iterations: dict[tuple[str, int], MapIteration] = {}

    def read(self, event: dict[str, Any]) -> None:
        event_id = int(event["id"])
        self._by_id[event_id] = event
        kind: str = event["type"]
        details = _details(event)
        if kind.endswith("StateEntered"):
            self._entered(event, event_id, kind, details)
        elif kind.endswith("StateExited"):
            self._exited(event, event_id, details)
        else:
            self._other(event, event_id, kind, details)

    def _chain(self, event: dict[str, Any]) -> list[StateRun]:
        """Runs met walking back the previousEventId chain, nearest first."""
        found: list[StateRun] = []
        previous = int(event.get("previousEventId") or 0)
        steps = 0
        while previous and steps < _MAX_CHAIN_STEPS:
            if previous in self.owner and (not found or found[-1] is not self.owner[previous]):
                found.append(self.owner[previous])
            previous = int(self._by_id.get(previous, {}).get("previousEventId") or 0)
            steps += 1
        return found

    def _entered(self, event: dict[str, Any], event_id: int, kind: str, details: dict[str, Any]) -> None:
        run = StateRun(
            name=details.get("name", "?"),
            type=kind.removesuffix("StateEntered"),
            entered_event=event_id,
            entered_at=_timestamp(event),
            input=details.get("input"),
        )
        source = next(iter(self._chain(event)), None)
        iteration = self._iteration_of(event)
        if iteration is not None:
            run.iteration = (iteration.map_state, iteration.index)
            iteration.runs.append(len(self.runs))
        if source is not None:
            self._arrived_from(source, run)
        if run.type == "Fail":
            run.status = FAILED
            run.error, run.cause = details.get("error"), details.get("cause")
        self.runs.append(run)
        self.owner[event_id] = run

    def _iteration_of(self, event: dict[str, Any]) -> MapIteration | None:
        """The Map iteration an entered state runs in: the nearest iteration start or run up its chain."""
        previous = int(event.get("previousEventId") or 0)
        steps = 0
        while previous and steps < _MAX_CHAIN_STEPS:
            if previous in self._iteration_starts:
                return self._iteration_starts[previous]
            owner = self.owner.get(previous)
            if owner is not None:  # a state's event, or the Map's own (its exit): that run's iteration
                return self.iterations.get(owner.iteration) if owner.iteration else None
            previous = int(self._by_id.get(previous, {}).get("previousEventId") or 0)
            steps += 1
        return None

    def _map_iteration(self, event_id: int, kind: str, details: dict[str, Any]) -> None:
        key = (str(details.get("name", "?")), int(details.get("index", -1)))
        iteration = self.iterations.setdefault(key, MapIteration(*key))
        if kind == "MapIterationStarted":
            self._iteration_starts[event_id] = iteration
        elif kind == "MapIterationSucceeded":
            iteration.status = SUCCEEDED
        elif kind in ("MapIterationFailed", "MapIterationAborted"):
            iteration.status = FAILED

    def _arrived_from(self, source: StateRun, run: StateRun) -> None:
        """Record the transition from ``source`` into ``run``, once per (source, target, kind)."""
        if source.exited_at is None and source._failing:
            source.status = CAUGHT  # a Catch without a StateExited event (as AWS records it)
            source._failing = False
        if source.status not in (SUCCEEDED, CAUGHT):
            return
        key = (source.name, run.name, "catch" if source.status == CAUGHT else "next")
        if key not in self._seen_transitions:
            self._seen_transitions.add(key)
            self.transitions.append(Transition(*key))

    def _exited(self, event: dict[str, Any], event_id: int, details: dict[str, Any]) -> None:
        name = details.get("name")
        # The run the chain leads to; failing that, the latest run of that name still open.
        run = next((r for r in self._chain(event) if r.name == name), None) or next(
            (r for r in reversed(self.runs) if r.name == name and r.exited_at is None), None
        )
        if run is None:
            return
        run.exited_at = _timestamp(event)
        run.output = details.get("output")
        run.status = CAUGHT if run._failing else SUCCEEDED
        run._failing = False
        self.owner[event_id] = run

    def _other(self, event: dict[str, Any], event_id: int, kind: str, details: dict[str, Any]) -> None:
        # Map*/Parallel* events belong to the Map/Parallel run, the rest to the nearest run.
        if kind.startswith("MapIteration"):
            self._map_iteration(event_id, kind, details)
        wanted_type = next((t for t in ("Map", "Parallel") if kind.startswith(t)), None)
        candidates = self._chain(event)
        run = next((r for r in candidates if wanted_type in (None, r.type)), None)
        if run is None:
            return
        self.owner[event_id] = run
        if kind == "ExecutionFailed" and run.type == "Fail":
            run.error, run.cause = details.get("error"), details.get("cause")
        elif kind in _SCHEDULED and run._failing:
            run.retries += 1  # a Retry clause: the failure is not final
            run._failing = False
        elif kind.endswith(("Failed", "TimedOut")) and kind not in _NOT_A_FAILURE:
            _start_failing(run, kind, details, candidates)
            if run.type == "Map" and run.error == kind:
                self._error_of_failed_item(run)

    def _error_of_failed_item(self, run: StateRun) -> None:
        """A Map that failed with no error of its own fails with its failed item's (whichever event its
        failure follows in the history)."""
        for iteration in self.iterations.values():
            if iteration.map_state != run.name or iteration.status != FAILED:
                continue
            failing = next((self.runs[i] for i in iteration.runs if self.runs[i].error), None)
            if failing is not None:
                run.error, run.cause = failing.error, failing.cause
                return


def _start_failing(run: StateRun, kind: str, details: dict[str, Any], candidates: list[StateRun]) -> None:
    """``run`` failed; whether that is final (or Retry/Catch moves on) only later events tell."""
    run._failing = True
    # A Map or Parallel fails with the error of the item or branch that failed.
    failed_inside = next((r for r in candidates if r.error), None)
    if details.get("error"):
        run.error, run.cause = details.get("error"), details.get("cause")
    elif failed_inside is not None:
        run.error, run.cause = failed_inside.error, failed_inside.cause
    else:
        run.error = run.error or kind


def _shown_states(runs: list[StateRun]) -> dict[str, str]:
    """State name → the most telling status of its runs."""
    states: dict[str, str] = {}
    for run in runs:
        if _SEVERITY[run.status] >= _SEVERITY.get(states.get(run.name, SUCCEEDED), 0):
            states[run.name] = run.status
    return states


def execution_path(events: list[dict[str, Any]], execution_status: str) -> ExecutionPath:
    """Runs, transitions and per-state status of one execution (``events`` as GetExecutionHistory returns)."""
    walk = _HistoryWalk()
    for event in sorted(events, key=lambda e: int(e["id"])):
        walk.read(event)
    # A run still open when the execution has ended (or while it is failing) did not succeed.
    for run in walk.runs:
        if run.status == RUNNING and (run._failing or execution_status not in ("RUNNING", "")):
            run.status = FAILED
    event_states = {event_id: run.name for event_id, run in walk.owner.items()}
    return ExecutionPath(
        runs=walk.runs,
        transitions=walk.transitions,
        states=_shown_states(walk.runs),
        event_states=event_states,
        iterations=_in_order(list(walk.iterations.values()), len(walk.runs)),
    )


def _in_order(iterations: list[MapIteration], after_all: int) -> list[MapIteration]:
    """Each Map's iterations together, Maps in the order they ran, items by index."""
    first_run: dict[str, int] = {}
    for iteration in iterations:
        start = min(iteration.runs, default=after_all)
        first_run[iteration.map_state] = min(first_run.get(iteration.map_state, after_all), start)
    return sorted(iterations, key=lambda i: (first_run[i.map_state], i.map_state, i.index))
