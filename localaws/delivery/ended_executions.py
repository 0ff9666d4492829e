"""When each execution of a state machine ended, and how: read once per execution, not at every look.

The alarm evaluator counts the executions that ended with a status within each period (``AWS/States``
``ExecutionsFailed`` and the like). Reading every execution of the machine at each evaluation grows with
every order the stack has run: with the stacks' time scale of 1/60 the workflow's two alarms are evaluated
every second, and after a 10,000-line import that is 20,000 executions read a second to find the few that
ended in the last period. Here an execution is read until it has ended; its stop time and status are then
kept (an ended execution does not run again: moto 5.2.5 has no RedriveExecution) and the executions that
start later are taken from the end of the machine's list, which moto only appends to.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from localaws.patches import registry

registry.register(
    "moto.stepfunctions.models.StateMachine",
    "executions: the list moto appends each started execution to (read from where we left off)",
)
registry.register(
    "moto.stepfunctions.models.Execution",
    "status and stop_date, read until the execution has ended (the parser's Execution has the same)",
)

RUNNING = "RUNNING"


def as_utc(value: Any) -> dt.datetime | None:
    """A stop date as moto keeps it (datetime, ISO text or epoch seconds), in UTC; None when there is none."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    return None


@dataclass
class _Machine:
    executions: list[Any]  # moto's own list: a new one means the machine was made again
    read: int = 0  # how many of ``executions`` were taken in
    open: list[Any] = field(default_factory=list)  # taken in, not ended when last read
    ended: list[tuple[dt.datetime, str]] = field(default_factory=list)  # (stop date, status)


class EndedExecutions:
    """The stop dates of the executions of each state machine that ended, by status."""

    def __init__(self) -> None:
        self._machines: dict[str, _Machine] = {}
        self._lock = threading.Lock()

    def stops(
        self, machines: list[Any], arn: str | None, status: str, since: dt.datetime
    ) -> list[dt.datetime]:
        """Stop dates after ``since`` of the executions of ``machines`` (the one named ``arn``, or all) that
        ended with ``status``; the same answer as reading every execution of them now."""
        found: list[dt.datetime] = []
        with self._lock:
            for machine in machines:
                if arn is not None and machine.arn != arn:
                    continue
                state = self._take_in(machine)
                found.extend(stop for stop, ended in state.ended if ended == status and stop > since)
        return found

    def forget_before(self, moment: dt.datetime) -> None:
        """Drop what ended before ``moment``: no period asked about reaches back that far."""
        with self._lock:
            for state in self._machines.values():
                state.ended = [entry for entry in state.ended if entry[0] > moment]

    def _take_in(self, machine: Any) -> _Machine:
        executions = machine.executions
        state = self._machines.get(machine.arn)
        if state is None or state.executions is not executions or len(executions) < state.read:
            state = self._machines[machine.arn] = _Machine(executions)
        size = len(executions)
        still_open: list[Any] = []
        for execution in [*state.open, *executions[state.read : size]]:
            stopped = as_utc(getattr(execution, "stop_date", None))
            status = str(execution.status) if stopped is not None else RUNNING
            if status == RUNNING:
                still_open.append(execution)
            else:
                state.ended.append((stopped, status))  # type: ignore[arg-type]
        state.open, state.read = still_open, size
        return state
