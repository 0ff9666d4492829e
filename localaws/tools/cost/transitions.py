"""State transitions per order, counted by walking the workflow's ASL along one path.

Step Functions Standard bills "a state transition each time a step of your workflow is executed ... including
retries" (https://aws.amazon.com/step-functions/pricing/). So the walk counts every state entered: a Choice,
a Pass, a Succeed or Fail as much as a Task; a Map once, plus its item processor's states once per item; a
Parallel once, plus every branch; and each retry of a Task as one more.

A path says only what the definition cannot: which branch a Choice takes, which Task fails with which error
(a Catch in the definition then decides where it goes), and how many retries a Task spends. Everything else,
the states, their order, Catch targets and Map/Parallel structure, is read from the synthesized definition.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from services.shared.messages import OUT_OF_STOCK, PAYMENT_DECLINED
from workflows import states

DUPLICATE_KEY = "DynamoDB.ConditionalCheckFailedException"

# Error names that a Catch on ``States.ALL`` or ``States.TaskFailed`` does (not) match, per the ASL spec.
_NOT_TASK_FAILED = frozenset({"States.Timeout", "States.HeartbeatTimeout"})


class PathError(ValueError):
    """A path asks for something the definition does not allow (an unknown state, a branch not offered)."""


@dataclass(frozen=True)
class Failure:
    """A Task that fails with ``error``; inside a Map, in every item or only in the last one."""

    error: str
    item: Literal["all", "last"] = "all"


@dataclass(frozen=True)
class OrderPath:
    name: str
    what: str
    choices: dict[str, str] = field(default_factory=dict)  # Choice state → the state it goes to
    failures: dict[str, Failure] = field(default_factory=dict)  # Task state → how it fails
    retries: dict[str, int] = field(default_factory=dict)  # Task state → retries spent (each one billed)


# A valid order on the standard payment lane (the priority lane enters as many states).
_ACCEPTED_STANDARD_LANE = {
    states.IS_ORDER_VALID: states.RECORD_ORDER,
    states.CHOOSE_PAYMENT_LANE: states.REQUEST_PAYMENT,
}

# The five outcomes an order can reach; the demo's samples exercise each of them on the embedded stack.
PATHS: tuple[OrderPath, ...] = (
    OrderPath(
        "completed",
        "paid, reserved, shipped",
        choices=_ACCEPTED_STANDARD_LANE,
    ),
    OrderPath(
        "declined",
        "card declined: cancelled, nothing charged",
        choices=_ACCEPTED_STANDARD_LANE,
        failures={states.REQUEST_PAYMENT: Failure(PAYMENT_DECLINED)},
    ),
    OrderPath(
        "out_of_stock",
        "last item out of stock: every item released, payment refunded",
        choices=_ACCEPTED_STANDARD_LANE,
        failures={states.RESERVE_ITEM: Failure(OUT_OF_STOCK, item="last")},
    ),
    OrderPath(
        "rejected",
        "invalid event: recorded as rejected",
        choices={states.IS_ORDER_VALID: states.RECORD_REJECTION},
    ),
    OrderPath(
        "duplicate",
        "the same event again: the second execution stops at the record",
        choices={states.IS_ORDER_VALID: states.RECORD_ORDER},
        failures={states.RECORD_ORDER: Failure(DUPLICATE_KEY)},
    ),
)


def path_named(name: str) -> OrderPath:
    for path in PATHS:
        if path.name == name:
            return path
    raise PathError(f"no order path {name!r}: one of {', '.join(p.name for p in PATHS)}")


@dataclass
class Walk:
    """The states one execution enters along a path, in order, and the retries it spends."""

    entered: list[str] = field(default_factory=list)
    retries: Counter[str] = field(default_factory=Counter)
    error: str | None = None  # the error the execution ends with; None when it succeeds

    @property
    def transitions(self) -> int:
        return len(self.entered) + sum(self.retries.values())

    def count(self, state: str) -> int:
        return self.entered.count(state)


def _catches(state: dict[str, Any], error: str) -> str | None:
    for catcher in state.get("Catch", []):
        equals = catcher.get("ErrorEquals", [])
        if error in equals or "States.ALL" in equals:
            return str(catcher["Next"])
        if "States.TaskFailed" in equals and error not in _NOT_TASK_FAILED:
            return str(catcher["Next"])
    return None


def _retry_allowed(state: dict[str, Any], spent: int) -> bool:
    return spent == 0 or any(spent <= int(r.get("MaxAttempts", 3)) for r in state.get("Retry", []))


class _Walker:
    def __init__(self, path: OrderPath, items: int) -> None:
        if items < 1:
            raise PathError(f"items: an order has at least one item, got {items}")
        self.path = path
        self.items = items
        self.seen: set[str] = set()

    def run(self, machine: dict[str, Any], walk: Walk, item: int | None = None) -> None:
        name = str(machine["StartAt"])
        known = machine["States"]
        while True:
            if name not in known:
                raise PathError(f"state {name!r} is not in the definition")
            state = known[name]
            self.seen.add(name)
            walk.entered.append(name)
            error = self._step(name, state, walk, item)
            kind = state["Type"]
            if kind == "Succeed":
                return
            if kind == "Fail":
                walk.error = str(state.get("Error", "States.Fail"))
                return
            if kind == "Choice":
                name = self._choose(name, state)
                continue
            if error is not None:
                target = _catches(state, error)
                if target is None:
                    walk.error = error
                    return
                name = target
                continue
            if state.get("End"):
                return
            name = str(state["Next"])

    def _step(self, name: str, state: dict[str, Any], walk: Walk, item: int | None) -> str | None:
        """Run one state; the error it fails with, if any."""
        kind = state["Type"]
        if kind == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            failed: str | None = None
            # Inline Map iterations start together (MaxConcurrency 0), so every item is entered even when one
            # fails; the Map then fails with the first error.
            for index in range(self.items):
                inner = Walk()
                self.run(processor, inner, item=index)
                walk.entered.extend(inner.entered)
                walk.retries.update(inner.retries)
                failed = failed or inner.error
            return failed
        if kind == "Parallel":
            failed = None
            for branch in state["Branches"]:
                inner = Walk()
                self.run(branch, inner, item=item)
                walk.entered.extend(inner.entered)
                walk.retries.update(inner.retries)
                failed = failed or inner.error
            return failed
        if kind != "Task":
            return None
        spent = self.path.retries.get(name, 0)
        if not _retry_allowed(state, spent):
            raise PathError(f"{name}: {spent} retries asked, its Retry allows fewer")
        if spent:
            walk.retries[name] += spent
        failure = self.path.failures.get(name)
        if failure is None:
            return None
        if failure.item == "last" and item is not None and item != self.items - 1:
            return None
        return failure.error

    def _choose(self, name: str, state: dict[str, Any]) -> str:
        offered = [str(c["Next"]) for c in state.get("Choices", [])]
        if "Default" in state:
            offered.append(str(state["Default"]))
        target = self.path.choices.get(name, state.get("Default"))
        if target is None or target not in offered:
            raise PathError(f"{self.path.name}: Choice {name!r} goes to one of {offered}, not {target!r}")
        return str(target)


def walk_path(definition: dict[str, Any], path: OrderPath, *, items: int = 1) -> Walk:
    """The states an execution of ``definition`` enters along ``path``, for an order of ``items`` lines."""
    walker = _Walker(path, items)
    walk = Walk()
    walker.run(definition, walk)
    named = set(path.choices) | set(path.failures) | set(path.retries)
    unused = sorted(named - walker.seen)
    if unused:
        raise PathError(f"{path.name}: the path names states it never reaches: {', '.join(unused)}")
    return walk
