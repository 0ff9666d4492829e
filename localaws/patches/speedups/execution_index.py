"""Speed-up of moto's Step Functions lookups: executions by ARN and name, and the task waiting on a token.

* ``execution_index`` -- moto 5.2.5 finds things by walking lists. SendTaskSuccess and SendTaskHeartbeat
  build the list of every RUNNING execution of every state machine, then ask each one's callback pool for
  the token; SendTaskFailure asks every execution ever started. DescribeExecution, GetExecutionHistory,
  StopExecution and DescribeStateMachineForExecution search the executions one by one, and StartExecution
  walks its state machine's executions for one of the same name. Each call costs O(executions held), and a
  soak holds thousands. We keep an index beside moto's structures and answer from it in O(1), with the
  same answers and errors as moto's walk:

  - per state machine (``StateMachine.executions``, a list moto only ever appends to): the first execution
    of each ARN and of each name, and the execution owning each callback pool. It is brought up to date
    before every use by indexing the tail appended since (moto's own StartExecution, ours, or anyone's);
    a list that is no longer the one indexed, that shrank, or whose last indexed element moved, is indexed
    again from scratch. So executions from before the patch was installed are indexed too.
  - per task token: the callback pool(s) it was added to (``CallbackPoolManager.add`` and
    ``add_activity_task``, hooked). moto's walk finds the token in the pool of a listed execution; we go
    token -> pool -> execution, then check what moto checks (listed in one of this backend's state machines,
    RUNNING for success and heartbeat) and make the same call on that one pool. A token held by more than
    one execution (impossible with uuid4 tokens, but a seeded or hand-made token could repeat) is answered
    by moto's own walk.
  - pools older than the patch held tokens nobody recorded: their tokens are copied into the index when
    their execution is first indexed, and while such an execution still runs (an ``add`` may have been in
    flight during the install) its pool is also asked directly. Pools created after the install are known
    by a hook on the pool's constructor, and every token they ever hold went through the hook.

  One difference, on purpose: moto's walk touches every listed execution, and one whose thread has not yet
  built its environment (the first moments after StartExecution) has no pool, so the walk fails with an
  AttributeError (HTTP 500) for every callback sent in that moment. The index never touches such an
  execution; it has no pool, so it cannot hold the token, and the answer is the one moto gives a moment
  later.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from moto.core.utils import utcnow
from moto.stepfunctions.exceptions import ExecutionAlreadyExists, ExecutionDoesNotExist, ResourceNotFound
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    InvalidToken,
    SendTaskFailureOutput,
    TaskDoesNotExist,
    TaskTimedOut,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackNotifyConsumerError,
    CallbackOutcomeFailure,
    CallbackOutcomeSuccess,
)

from localaws.patches import registry

_BACKEND = "moto.stepfunctions.models.StepFunctionBackend"
_PARSER_BACKEND = "moto.stepfunctions.parser.models.StepFunctionsParserBackend"
_MACHINE = "moto.stepfunctions.models.StateMachine"
_POOL = "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager"

_SEND_SUCCESS = f"{_PARSER_BACKEND}.send_task_success"
_SEND_FAILURE = f"{_PARSER_BACKEND}.send_task_failure"
_SEND_HEARTBEAT = f"{_PARSER_BACKEND}.send_task_heartbeat"
_POOL_INIT = f"{_POOL}.__init__"
_POOL_ADD = f"{_POOL}.add"
_POOL_ADD_ACTIVITY = f"{_POOL}.add_activity_task"

# Token entries whose pool is gone (a moto reset) are swept when the map doubles since the last sweep.
_SWEEP_FLOOR = 4096

registry.register_attributes(
    _BACKEND,
    ["state_machines", "_validate_execution_arn", "_get_state_machine_for_execution"],
    "the state machines whose executions moto walks; the ARN checks moto makes first",
)
registry.register_attributes(
    _MACHINE, ["executions", "roleArn"], "the list of executions moto walks (append-only in moto)"
)
registry.register_attributes(
    "moto.stepfunctions.models.Execution",
    ["execution_arn", "name", "status", "execution_input", "stop", "get_execution_history"],
    "what moto's walks compare and call",
)
registry.register_attributes(
    "moto.stepfunctions.parser.backend.execution.Execution",
    ["execution_arn", "name", "status", "execution_input", "exec_worker", "stop"],
    "what moto's walks compare, and the worker holding the execution's environment",
)
registry.register_attributes(
    "moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker",
    ["env"],
    "the execution's environment (None until its thread builds it)",
)
registry.register_attributes(
    "moto.stepfunctions.parser.asl.eval.environment.Environment",
    ["callback_pool_manager"],
    "the one pool of task tokens of an execution (its Map and Parallel frames share it)",
)
registry.register_attributes(
    _POOL, ["_pool", "get", "notify", "heartbeat"], "tokens a pool held before the patch; moto's calls"
)


class _Tokens:
    """Task token -> the pool(s) it was added to, by weak reference (a moto reset drops the pools)."""

    def __init__(self) -> None:
        self._pools: dict[str, Any] = {}  # a weakref, or a list of them when several pools hold the token
        self._sweep_at = _SWEEP_FLOOR

    def record(self, token: str, pool: Any) -> None:
        held = self._pools.get(token)
        if held is None:
            self._pools[token] = weakref.ref(pool)
        elif isinstance(held, list):
            if not any(ref() is pool for ref in held):
                held.append(weakref.ref(pool))
        elif held() is not pool:
            self._pools[token] = [held, weakref.ref(pool)]
        if len(self._pools) > self._sweep_at:
            self._sweep()

    def pools(self, token: str) -> list[Any]:
        held = self._pools.get(token)
        if held is None:
            return []
        refs = held if isinstance(held, list) else [held]
        return [pool for pool in (ref() for ref in refs) if pool is not None]

    def _sweep(self) -> None:
        for token, held in list(self._pools.items()):
            refs = held if isinstance(held, list) else [held]
            if all(ref() is None for ref in refs):
                del self._pools[token]
        self._sweep_at = max(_SWEEP_FLOOR, 2 * len(self._pools))

    def clear(self) -> None:
        self._pools.clear()
        self._sweep_at = _SWEEP_FLOOR

    def __len__(self) -> int:
        return len(self._pools)


_lock = threading.RLock()
_tokens = _Tokens()
# Pools constructed while the patch is in: every token they hold went through ``_record``.
_hooked_pools: weakref.WeakSet[Any] = weakref.WeakSet()


def _pool_of(execution: Any) -> Any:
    worker = execution.exec_worker
    env = worker.env if worker is not None else None
    return env.callback_pool_manager if env is not None else None


def _running(execution: Any) -> bool:
    # moto's own comparison (``_get_executions(ExecutionStatus.RUNNING)``).
    return bool(execution.status == ExecutionStatus.RUNNING)


class _Listed:
    """One state machine's ``executions`` list, indexed up to ``count``; ``last`` is its element there."""

    def __init__(self, executions: list[Any]) -> None:
        self.executions = executions
        self.count = 0
        self.last: Any = None
        self.by_arn: dict[str, Any] = {}
        self.by_name: dict[Any, Any] = {}
        self.by_pool: dict[Any, Any] = {}
        self.unbuilt: list[Any] = []  # engine executions whose environment (so pool) did not exist yet
        self.older: list[tuple[Any, Any]] = []  # (pool, execution): pools from before the patch, running

    def stale(self, executions: list[Any], length: int) -> bool:
        return (
            executions is not self.executions
            or length < self.count
            or (self.count > 0 and executions[self.count - 1] is not self.last)
        )

    def extend(self, executions: list[Any], length: int) -> None:
        for execution in executions[self.count : length]:
            self.by_arn.setdefault(execution.execution_arn, execution)
            self.by_name.setdefault(execution.name, execution)
            # The engine's executions have a worker; the mock backend's (no interpreter) hold no tokens.
            if hasattr(execution, "exec_worker"):
                self._place(execution)
        self.count = length
        self.last = executions[length - 1]

    def _place(self, execution: Any) -> None:
        pool = _pool_of(execution)
        if pool is None:
            self.unbuilt.append(execution)
            return
        self.by_pool.setdefault(pool, execution)
        if pool not in _hooked_pools:
            _adopt(pool)
            if _running(execution):
                self.older.append((pool, execution))

    def place_built(self) -> None:
        if self.unbuilt:
            waiting, self.unbuilt = self.unbuilt, []
            for execution in waiting:
                self._place(execution)

    def older_running(self) -> list[tuple[Any, Any]]:
        """Pools from before the patch whose execution still runs; an ended one is adopted a last time."""
        if self.older:
            still = []
            for pool, execution in self.older:
                if _running(execution):
                    still.append((pool, execution))
                else:
                    _adopt(pool)
            self.older = still
        return self.older


def _adopt(pool: Any) -> None:
    """Record the tokens a pool got before the patch was in."""
    for token in tuple(pool._pool):
        _tokens.record(token, pool)


# id(state machine) -> (a weak reference to it, its index); plainer and faster than a WeakKeyDictionary.
_machines: dict[int, tuple[weakref.ref[Any], _Listed]] = {}


# State machines gone (a reset, a deletion), whose entries ``_listed`` drops: a weakref callback runs
# whenever the collector does, so it only appends here and never touches ``_machines`` itself.
_gone: list[tuple[int, weakref.ref[Any]]] = []


def _forget(key: int, ref: weakref.ref[Any]) -> None:
    _gone.append((key, ref))


def _listed(machine: Any) -> _Listed:
    """The index of ``machine.executions``, brought up to date with the list as it is now."""
    with _lock:
        while _gone:
            key, ref = _gone.pop()
            entry = _machines.get(key)
            if entry is not None and entry[0] is ref:  # not an id reused since
                del _machines[key]
        executions = machine.executions
        length = len(executions)
        entry = _machines.get(id(machine))
        listed = entry[1] if entry is not None and entry[0]() is machine else None
        if listed is None or listed.stale(executions, length):
            listed = _Listed(executions)
            key = id(machine)
            _machines[key] = (weakref.ref(machine, functools.partial(_forget, key)), listed)
        if length > listed.count:
            listed.extend(executions, length)
        return listed


def _holders(backend: Any, token: str, *, running_only: bool) -> list[tuple[Any, Any]]:
    """(pool, execution) of each execution moto's walk would find ``token`` in."""
    with _lock:
        pools = _tokens.pools(token)
        found: list[tuple[Any, Any]] = []
        for machine in list(backend.state_machines):
            listed = _listed(machine)
            listed.place_built()
            for pool in pools:
                execution = listed.by_pool.get(pool)
                if execution is not None:
                    found.append((pool, execution))
            for pool, execution in listed.older_running():
                if pool not in pools and pool.get(token) is not None:
                    found.append((pool, execution))
    if running_only:
        return [(pool, execution) for pool, execution in found if _running(execution)]
    return found


def _consumer_error(consumer_error: CallbackNotifyConsumerError) -> Exception:
    # moto's own mapping, word for word (it tests the wrapper, not the error it wraps).
    if isinstance(consumer_error, CallbackConsumerTimeout):
        return TaskTimedOut()  # type: ignore[call-arg]  # raised without a message, as moto does
    return TaskDoesNotExist()  # type: ignore[call-arg]


# --- the replacements -----------------------------------------------------------------------------------


def _pool_init(self: Any, *args: Any, **kwargs: Any) -> None:
    registry.original(_POOL_INIT)(self, *args, **kwargs)
    _hooked_pools.add(self)


# Recorded before moto adds it: a lookup in between finds the pool without the token and answers
# InvalidToken, as moto's walk would at that instant; recorded after, it could miss a token just added.
def _pool_add(self: Any, callback_id: str) -> Any:
    with _lock:
        _tokens.record(callback_id, self)
    return registry.original(_POOL_ADD)(self, callback_id)


def _pool_add_activity_task(self: Any, callback_id: str, activity_arn: str, activity_input: str) -> Any:
    with _lock:
        _tokens.record(callback_id, self)
    return registry.original(_POOL_ADD_ACTIVITY)(self, callback_id, activity_arn, activity_input)


def _answered(backend: Any, token: str, *, running_only: bool, answer: Callable[[Any], bool]) -> bool:
    """``answer`` the pool of the one execution holding ``token``, as moto's walk would find it; False when
    several hold it (the caller then leaves it to moto's walk). Raises moto's errors otherwise."""
    holders = _holders(backend, token, running_only=running_only)
    if len(holders) > 1:
        return False
    for pool, _execution in holders:
        try:
            if answer(pool):
                return True
        except CallbackNotifyConsumerError as consumer_error:
            raise _consumer_error(consumer_error) from None
    raise InvalidToken()


def _send_task_success(self: Any, task_token: str, outcome: str) -> Any:
    success = CallbackOutcomeSuccess(callback_id=task_token, output=outcome)
    if _answered(
        self,
        task_token,
        running_only=True,
        answer=lambda pool: pool.notify(callback_id=task_token, outcome=success),
    ):
        return None
    return registry.original(_SEND_SUCCESS)(self, task_token, outcome)


def _send_task_failure(self: Any, task_token: str, error: Any = None, cause: Any = None) -> Any:
    failure = CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause)
    if _answered(
        self,
        task_token,
        running_only=False,
        answer=lambda pool: pool.notify(callback_id=task_token, outcome=failure),
    ):
        return SendTaskFailureOutput()
    return registry.original(_SEND_FAILURE)(self, task_token, error=error, cause=cause)


def _send_task_heartbeat(self: Any, task_token: str) -> Any:
    if _answered(
        self, task_token, running_only=True, answer=lambda pool: pool.heartbeat(callback_id=task_token)
    ):
        return None
    return registry.original(_SEND_HEARTBEAT)(self, task_token)


def _execution_of(state_machine: Any, execution_arn: str) -> Any:
    execution = _listed(state_machine).by_arn.get(execution_arn)
    if not execution:
        raise ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")
    return execution


def _describe_execution(self: Any, execution_arn: str) -> Any:
    self._validate_execution_arn(execution_arn)
    state_machine = self._get_state_machine_for_execution(execution_arn)
    return _execution_of(state_machine, execution_arn)


def _get_execution_history(self: Any, execution_arn: str) -> dict[str, Any]:
    self._validate_execution_arn(execution_arn)
    state_machine = self._get_state_machine_for_execution(execution_arn)
    execution = _execution_of(state_machine, execution_arn)
    return {"events": execution.get_execution_history(state_machine.roleArn)}


def _describe_state_machine_for_execution(self: Any, execution_arn: str) -> Any:
    for state_machine in self.state_machines:
        if execution_arn in _listed(state_machine).by_arn:
            return state_machine
    raise ResourceNotFound(execution_arn)


def _stop_execution(self: Any, execution_arn: str) -> Any:
    execution = _execution_of(self, execution_arn)
    execution.stop(stop_date=utcnow(), error="", cause="")
    return execution


def _handle_name_input_idempotency(self: Any, name: str, execution_input: str) -> Any:
    execution = _listed(self).by_name.get(name)
    if execution is None:
        return None
    # Executions with the same name and input are idempotent while the first one runs (moto's rule).
    if execution_input == execution.execution_input and execution.status == "RUNNING":
        return execution
    raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")


class _IndexPatchSet(registry.PatchSet):
    """Out of service, the index is dropped: tokens added meanwhile would not be in it."""

    def uninstall(self) -> None:
        super().uninstall()
        clear()


def clear() -> None:
    with _lock:
        _tokens.clear()
        _machines.clear()
        _gone.clear()
        _hooked_pools.clear()


def counts() -> dict[str, int]:
    with _lock:
        return {"tokens": len(_tokens), "state_machines": len(_machines)}


EXECUTION_INDEX = _IndexPatchSet(
    "execution_index",
    [
        # The pool hooks go in first, so that no pool built after them misses a token.
        registry.Patch(_POOL_ADD, _pool_add, "record which pool each task token went to"),
        registry.Patch(_POOL_ADD_ACTIVITY, _pool_add_activity_task, "record an activity task's token"),
        registry.Patch(_POOL_INIT, _pool_init, "know the pools whose every token was recorded"),
        registry.Patch(_SEND_SUCCESS, _send_task_success, "find the task by its token, not by a walk"),
        registry.Patch(_SEND_FAILURE, _send_task_failure, "find the task by its token, not by a walk"),
        registry.Patch(_SEND_HEARTBEAT, _send_task_heartbeat, "find the task by its token, not by a walk"),
        registry.Patch(f"{_BACKEND}.describe_execution", _describe_execution, "an execution by its ARN"),
        registry.Patch(
            f"{_BACKEND}.get_execution_history", _get_execution_history, "an execution by its ARN"
        ),
        registry.Patch(
            f"{_BACKEND}.describe_state_machine_for_execution",
            _describe_state_machine_for_execution,
            "an execution by its ARN in each state machine",
        ),
        registry.Patch(f"{_MACHINE}.stop_execution", _stop_execution, "an execution by its ARN"),
        registry.Patch(
            f"{_MACHINE}._handle_name_input_idempotency",
            _handle_name_input_idempotency,
            "StartExecution finds an execution of the same name without a walk",
        ),
    ],
    reads=[
        ("moto.core.utils.utcnow", "the stop date moto's StopExecution sets"),
        *(
            (f"moto.stepfunctions.exceptions.{name}", "the error moto raises in the same case")
            for name in ("ExecutionAlreadyExists", "ExecutionDoesNotExist", "ResourceNotFound")
        ),
        *(
            (f"moto.stepfunctions.parser.api.{name}", "moto's answer in the same case")
            for name in (
                "ExecutionStatus",
                "ExecutionStatus.RUNNING",
                "InvalidToken",
                "SendTaskFailureOutput",
                "TaskDoesNotExist",
                "TaskTimedOut",
            )
        ),
        *(
            (f"moto.stepfunctions.parser.asl.eval.callback.callback.{name}", "moto's callback outcome types")
            for name in (
                "CallbackConsumerTimeout",
                "CallbackNotifyConsumerError",
                "CallbackOutcomeFailure",
                "CallbackOutcomeSuccess",
            )
        ),
    ],
)
