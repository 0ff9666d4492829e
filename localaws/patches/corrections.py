"""Places where moto answers differently from AWS, corrected so handlers see what AWS would give them."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import threading
from typing import Any

from botocore.paginate import TokenDecoder, TokenEncoder
from moto.core.responses import ActionResult, EmptyResult
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.parser.api import ExecutionStatus, TaskTimedOut
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    HeartbeatTimeoutError,
)
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramEnded,
    ProgramError,
    ProgramStopped,
    ProgramTimedOut,
)

from localaws.patches import registry

NOTIFY_HEARTBEAT = "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.notify_heartbeat"
SETUP_HEARTBEAT = (
    "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.setup_heartbeat_endpoint"
)
CALLBACK_TASK = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback"
    ".StateTaskServiceCallback"
)
CALLBACK_EVAL_BODY = f"{CALLBACK_TASK}._eval_body"
CALLBACK_EVAL_EXECUTION = f"{CALLBACK_TASK}._eval_execution"
WAIT_FOR_TASK_TOKEN = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource.ResourceCondition"
    ".WaitForTaskToken"
)
POOL_NOTIFY = "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager.notify"
POOL_HEARTBEAT = "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager.heartbeat"
# What Step Functions answers an answer to a task that has ended.
TASK_ENDED = "Task Timed Out: 'Provided task does not exist anymore'"
SEND_TASK_FAILURE = "moto.stepfunctions.responses.StepFunctionResponse.send_task_failure"
TASK_FROM_ERROR = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task.StateTask._from_error"
)
ERROR_EQUALS = (
    "moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl.ErrorEqualsDecl._eval_body"
)
LIST_EXECUTIONS = "moto.stepfunctions.models.StepFunctionBackend.list_executions"
LIST_EXECUTIONS_MODEL = "moto.stepfunctions.utils.PAGINATION_MODEL"
GET_EXECUTION_HISTORY = "moto.stepfunctions.responses.StepFunctionResponse.get_execution_history"
DYNAMODB_CALL = "moto.dynamodb.responses.DynamoHandler.call_action"
SET_STOP = "moto.stepfunctions.parser.asl.eval.environment.Environment.set_stop"
SET_ERROR = "moto.stepfunctions.parser.asl.eval.environment.Environment.set_error"
REFLECT_STATUS = (
    "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication._reflect_execution_status"
)
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
# GetExecutionHistory's page size: AWS's default, and the largest it accepts (0 means the default).
HISTORY_PAGE_DEFAULT = 100
HISTORY_PAGE_MAX = 1000


def _send_task_failure(self: Any) -> Any:
    # moto's handler forwards the error but drops the cause, which the workflow records as the reason.
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def _notify_heartbeat(self: Any) -> bool:
    # AWS accepts SendTaskHeartbeat for a task with no HeartbeatSeconds (there is simply no clock to reset);
    # moto answers InvalidToken, which would make a service take a live task for a stale one.
    endpoint = self._heartbeat_endpoint
    if endpoint is not None:
        endpoint.notify()
    return True


def _setup_heartbeat_endpoint(self: Any, heartbeat_seconds: int) -> Any:
    # A task sends its message first and starts its heartbeat clock after. A service that answers in between
    # (a fast worker, a busy engine thread) notified no clock, and moto's task then waits the whole heartbeat
    # for a sign of life that already came, and fails the task with a missed heartbeat. AWS keeps the answer.
    endpoint = registry.original(SETUP_HEARTBEAT)(self, heartbeat_seconds)
    if self._notify_event.is_set():
        endpoint.notify()
    return endpoint


def _callback_eval_body(self: Any, env: Any) -> None:
    # moto's body of a callback Task state (its token made and added to the pool, the state run with its
    # retries, the token taken out of the context), and then the token closed. moto leaves it open: a late
    # SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat to a task that had timed out, been answered or
    # been stopped was accepted (200) while the execution went on, and SendTaskFailure even after it ended.
    # The state's end, not each attempt's: moto gives all the attempts of a retried task one token. The mark
    # is moto's own field for it (``consumer_error``, which moto declares but never sets).
    token = None
    if (
        self._is_integration_pattern()
        and registry.resolve(WAIT_FOR_TASK_TOKEN) in self._supported_integration_patterns
    ):
        self._assert_integration_pattern_is_supported()
        token = env.states.context_object.update_task_token()
        env.callback_pool_manager.add(token)
    try:
        super(registry.resolve(CALLBACK_TASK), self)._eval_body(env)
        env.states.context_object.context_object_data.pop("Task", None)
    finally:
        endpoint = env.callback_pool_manager.get(token) if token is not None else None
        if endpoint is not None and endpoint.consumer_error is None:
            endpoint.report(CallbackConsumerTimeout())


def _callback_eval_execution(self: Any, env: Any) -> None:
    # One attempt of a callback Task. moto gives every attempt of a retried task the same token and endpoint,
    # and the end of an attempt leaves the endpoint's event set (``interrupt_all``). The next attempt's wait
    # then returned at once with no answer: a task with TimeoutSeconds and a Retry on States.Timeout timed out
    # again the moment its retry started, whatever its timeout. Each attempt now starts with the endpoint
    # clear, before its message is sent, as a new task would: an answer left from the attempt before (a late
    # one, or none) is not this attempt's.
    task = env.states.context_object.context_object_data.get("Task")
    endpoint = env.callback_pool_manager.get(task["Token"]) if task else None
    if endpoint is not None and endpoint._notify_event.is_set():
        endpoint._outcome = None
        endpoint._notify_event.clear()
    registry.original(CALLBACK_EVAL_EXECUTION)(self, env)


def _ended_task(pool: Any, callback_id: str) -> None:
    # Step Functions answers TaskTimedOut to any answer for a task that has ended, which tells a worker that
    # its answer was not used. moto's own mapping of a consumer error cannot: it tests the wrapper, not the
    # error, and builds TaskDoesNotExist without its message (a TypeError, answered 500).
    endpoint = pool.get(callback_id)
    if endpoint is not None and endpoint.consumer_error is not None:
        raise TaskTimedOut(TASK_ENDED, exception_type="TaskTimedOut")  # moto's class names no type of its own


def _pool_notify(self: Any, callback_id: str, outcome: Any) -> bool:
    _ended_task(self, callback_id)
    return bool(registry.original(POOL_NOTIFY)(self, callback_id, outcome))


def _pool_heartbeat(self: Any, callback_id: str) -> bool:
    _ended_task(self, callback_id)
    return bool(registry.original(POOL_HEARTBEAT)(self, callback_id))


class MissedHeartbeat(StatesErrorName):
    """A missed heartbeat: States.Timeout, as AWS reports it, that a Catch or Retry on States.HeartbeatTimeout
    matches as well."""


def _task_from_error(self: Any, env: Any, ex: Exception) -> Any:
    event = registry.original(TASK_FROM_ERROR)(self, env, ex)
    if isinstance(ex, HeartbeatTimeoutError):
        # moto reports a missed heartbeat as a plain States.Timeout, which a Catch on
        # States.HeartbeatTimeout never sees; AWS lets both names match it.
        event.error_name = MissedHeartbeat(typ=StatesErrorNameType.StatesTimeout)
    return event


def _error_equals_eval_body(self: Any, env: Any) -> None:
    error_name = env.stack[-1] if env.stack else None
    if isinstance(error_name, MissedHeartbeat) and any(
        getattr(name, "error_name", None) == HEARTBEAT_TIMEOUT for name in self.error_names
    ):
        env.stack.pop()
        env.stack.append(True)
        return
    registry.original(ERROR_EQUALS)(self, env)


def _history_token(execution_arn: str, reverse: bool, last_id: int) -> str:
    # Anchored on the last event id given, so a page of a running execution never repeats or skips one.
    state = {"executionArn": execution_arn, "reverseOrder": reverse, "after": last_id}
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _history_anchor(token: str, execution_arn: str, reverse: bool) -> int:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        anchor = int(state["after"])
        same = state["executionArn"] == execution_arn and state["reverseOrder"] is reverse
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidToken(f"nextToken {token!r} was not given by GetExecutionHistory") from exc
    if not same:
        raise InvalidToken("nextToken belongs to another executionArn or reverseOrder")
    return anchor


def _get_execution_history(self: Any) -> ActionResult:
    # moto returns every event, oldest first, whatever reverseOrder, maxResults and nextToken say; AWS pages
    # (100 events by default, at most 1000) and can start from the newest.
    execution_arn = self._get_param("executionArn")
    max_results = self._get_int_param("maxResults") or HISTORY_PAGE_DEFAULT
    if not 0 < max_results <= HISTORY_PAGE_MAX:
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {HISTORY_PAGE_MAX}"
        )
    reverse = bool(self._get_param("reverseOrder", False))
    events = list(self.stepfunction_backend.get_execution_history(execution_arn)["events"])
    if reverse:
        events.reverse()
    token = self._get_param("nextToken")
    if token:
        anchor = _history_anchor(token, execution_arn, reverse)
        events = [e for e in events if (e["id"] < anchor if reverse else e["id"] > anchor)]
    page: dict[str, Any] = {"events": events[:max_results]}
    if len(events) > max_results:
        page["nextToken"] = _history_token(execution_arn, reverse, int(events[max_results - 1]["id"]))
    return ActionResult(page)


def _surviving_anchor(backend: Any, machine_arn: str, status_filter: str, token: str) -> str | None:
    """``token`` (moto's, naming the first execution of the next page) moved to the first execution at or
    after that one, in the unfiltered order, that ``status_filter`` still lists; None when none is left. A
    token that does not decode or names no execution is given back as it is, for moto to refuse."""
    try:
        decoded = TokenDecoder().decode(token)
        anchor_arn = str(decoded["uniqueAttributes"]).split("|")[-1]
    except (ValueError, TypeError, UnicodeDecodeError, KeyError):
        return token
    unpaged = registry.original(LIST_EXECUTIONS).__wrapped__  # moto's filter and order, without the paginator
    everything = unpaged(backend, machine_arn, None)
    position = next((i for i, e in enumerate(everything) if e.execution_arn == anchor_arn), None)
    if position is None:
        return token
    listed = {execution.execution_arn for execution in unpaged(backend, machine_arn, status_filter)}
    survivor = next((e for e in everything[position:] if e.execution_arn in listed), None)
    if survivor is None:
        return None
    unique = registry.resolve(LIST_EXECUTIONS_MODEL)["list_executions"]["unique_attribute"]
    decoded["uniqueAttributes"] = "|".join(str(getattr(survivor, name)) for name in unique)
    return str(TokenEncoder().encode(decoded))


def _list_executions(
    self: Any,
    state_machine_arn: str,
    status_filter: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> Any:
    # moto's page token names the first execution of the next page, and is refused (InvalidToken, "Resource
    # not found!") when that execution is no longer in the list. With a statusFilter, an execution that ends
    # between two pages leaves the list, so paging through RUNNING executions failed whenever one ended in
    # between; Step Functions' tokens survive that. The token is moved to the next execution that is listed.
    if next_token is not None and status_filter:
        next_token = _surviving_anchor(self, state_machine_arn, status_filter, next_token)
        if next_token is None:
            return [], None
    return registry.original(LIST_EXECUTIONS)(
        self, state_machine_arn, status_filter=status_filter, max_results=max_results, next_token=next_token
    )


def _set_stop(self: Any, stop_date: Any, cause: Any, error: Any) -> None:
    # StopExecution ends an execution at once on AWS. moto marks the program stopped but leaves a task that
    # waits on its token waiting, until an answer or its timeout (300 s, a day...), and the execution stays
    # RUNNING that long. Interrupting the waits, as moto does once a task ends, lets it end ABORTED now.
    registry.original(SET_STOP)(self, stop_date=stop_date, cause=cause, error=error)
    if not self.is_running():
        for endpoint in list(self.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()


def _set_error(self: Any, error: Any) -> None:
    # Once stopped, an execution stays ABORTED, as on AWS. moto lets the error a stopped task raises on its
    # way out (an interrupted wait) overwrite the stop, and the execution ends FAILED.
    with self._state_mutex:
        if isinstance(self._program_state, ProgramStopped):
            return
        registry.original(SET_ERROR)(self, error=error)


def _reflect_execution_status(self: Any) -> None:
    # An execution's end, as moto records it, with its status set last. moto sets SUCCEEDED before the output
    # and FAILED before the error and cause, so a DescribeExecution on another request thread in between (it
    # reads the status first) gave SUCCEEDED with output null, or FAILED with no error: an order whose watcher
    # polls at that moment saw an end without its result. The fields are moto's; only their order differs.
    execution = self.execution
    program_state = execution.exec_worker.env.program_state()
    execution.stop_date = datetime.datetime.now(tz=datetime.UTC)
    if isinstance(program_state, ProgramEnded):
        execution.output = execution.exec_worker.env.states.get_input()
        status = ExecutionStatus.SUCCEEDED
    elif isinstance(program_state, ProgramStopped):
        status = ExecutionStatus.ABORTED
    elif isinstance(program_state, ProgramError):
        failure: Any = program_state.error  # typed optional, always set for a ProgramError (moto reads it so)
        execution.error = failure.get("error")
        execution.cause = failure.get("cause")
        status = ExecutionStatus.FAILED
    elif isinstance(program_state, ProgramTimedOut):
        status = ExecutionStatus.TIMED_OUT
    else:
        raise RuntimeWarning(f"Execution ended with unsupported ProgramState type '{type(program_state)}'.")
    execution.exec_status = status


# DynamoDB checks a write's condition and applies the write as one step: two PutItems of one key under
# attribute_not_exists cannot both succeed. moto checks, then writes, with nothing in between to stop a second
# request thread doing the same, and its UpdateItem changes the stored item in place, field by field. So every
# DynamoDB call (the backend's work and the answer made from it) runs under this lock, one at a time.
dynamodb_lock = threading.RLock()


def _dynamodb_call_action(self: Any) -> Any:
    with dynamodb_lock:
        return registry.original(DYNAMODB_CALL)(self)


CORRECTIONS = registry.PatchSet(
    "corrections",
    [
        registry.Patch(
            NOTIFY_HEARTBEAT, _notify_heartbeat, "SendTaskHeartbeat on a task without a heartbeat"
        ),
        registry.Patch(
            SETUP_HEARTBEAT,
            _setup_heartbeat_endpoint,
            "an answer that came before the task started its heartbeat clock is kept, not timed out",
        ),
        registry.Patch(
            CALLBACK_EVAL_BODY, _callback_eval_body, "a task's token is closed when the state ends"
        ),
        registry.Patch(
            CALLBACK_EVAL_EXECUTION,
            _callback_eval_execution,
            "each attempt of a retried callback task waits for its own answer, not the attempt before's end",
        ),
        registry.Patch(POOL_NOTIFY, _pool_notify, "an answer to a task that has ended gets TaskTimedOut"),
        registry.Patch(
            POOL_HEARTBEAT, _pool_heartbeat, "a heartbeat for a task that has ended gets TaskTimedOut"
        ),
        registry.Patch(SEND_TASK_FAILURE, _send_task_failure, "SendTaskFailure drops the cause"),
        registry.Patch(
            GET_EXECUTION_HISTORY,
            _get_execution_history,
            "GetExecutionHistory ignores reverseOrder, maxResults and nextToken",
        ),
        registry.Patch(
            LIST_EXECUTIONS,
            _list_executions,
            "ListExecutions with a statusFilter: a page token survives an execution that changed status",
        ),
        registry.Patch(
            TASK_FROM_ERROR,
            _task_from_error,
            "a missed heartbeat must be catchable as States.HeartbeatTimeout",
        ),
        registry.Patch(
            ERROR_EQUALS,
            _error_equals_eval_body,
            "ErrorEquals: States.HeartbeatTimeout matches a missed heartbeat",
        ),
        registry.Patch(
            SET_STOP, _set_stop, "StopExecution ends a task waiting on its token, not only the program"
        ),
        registry.Patch(
            SET_ERROR, _set_error, "an error after StopExecution does not turn ABORTED into FAILED"
        ),
        registry.Patch(
            REFLECT_STATUS,
            _reflect_execution_status,
            "an ended execution's output, error and cause are set before its status, not after",
        ),
        registry.Patch(
            DYNAMODB_CALL,
            _dynamodb_call_action,
            "a conditional write is checked and applied as one step, not raced by another request thread",
        ),
    ],
    reads=[
        ("moto.core.responses.EmptyResult", "SendTaskFailure's answer"),
        ("moto.core.responses.ActionResult", "GetExecutionHistory's answer"),
        ("moto.stepfunctions.exceptions.InvalidToken", "a nextToken GetExecutionHistory did not give"),
        ("moto.stepfunctions.exceptions.ValidationException", "maxResults beyond 1000"),
        ("moto.core.responses.BaseResponse._get_int_param", "GetExecutionHistory's maxResults"),
        (f"{LIST_EXECUTIONS}.__wrapped__", "ListExecutions' filter and order, without moto's paginator"),
        (LIST_EXECUTIONS_MODEL, "the attributes a ListExecutions page token names its execution by"),
        (
            "moto.stepfunctions.parser.backend.execution.Execution.execution_arn",
            "the execution a page token names",
        ),
        (
            "moto.stepfunctions.parser.models.StepFunctionsParserBackend.get_execution_history",
            "every event of an execution, oldest first",
        ),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name.StatesErrorName",
            "base of the missed-heartbeat error name",
        ),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type.StatesErrorNameType",
            "States.Timeout",
        ),
        (
            "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type.StatesErrorNameType"
            ".StatesTimeout",
            "the error name a missed heartbeat keeps",
        ),
        ("moto.stepfunctions.parser.asl.eval.callback.callback.HeartbeatTimeoutError", "a missed heartbeat"),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackConsumerTimeout",
            "the consumer error that every Send* answers as TaskTimedOut",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.consumer_error",
            "set once the task has ended",
        ),
        ("moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.report", "sets it"),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager.get",
            "a token's endpoint",
        ),
        ("moto.stepfunctions.parser.api.TaskTimedOut", "the answer for a task that has ended"),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager.add",
            "a new token's endpoint",
        ),
        (CALLBACK_TASK, "a .waitForTaskToken (or .sync) Task state; its body's parent runs the retries"),
        (
            f"{CALLBACK_TASK}._is_integration_pattern",
            "the resource names a pattern (.waitForTaskToken, .sync)",
        ),
        (f"{CALLBACK_TASK}._supported_integration_patterns", "the patterns this service's Task supports"),
        (f"{CALLBACK_TASK}._assert_integration_pattern_is_supported", "refuses one it does not"),
        (WAIT_FOR_TASK_TOKEN, "the pattern that gets a token"),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint._outcome",
            "the answer an attempt waits for",
        ),
        ("moto.stepfunctions.parser.asl.eval.states.States.context_object", "the context object"),
        ("moto.stepfunctions.parser.asl.eval.states.ContextObject.update_task_token", "a new $$.Task.Token"),
        ("moto.stepfunctions.parser.asl.eval.states.ContextObject.context_object_data", "holds it as Task"),
        ("moto.core.responses.BaseResponse._get_param", "SendTaskFailure's taskToken, error and cause"),
        (
            "moto.stepfunctions.responses.StepFunctionResponse.stepfunction_backend",
            "SendTaskFailure's and GetExecutionHistory's backend",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint._notify_event",
            "set once the task's answer came (or its waits were interrupted)",
        ),
        ("moto.stepfunctions.parser.asl.eval.environment.Environment.is_running", "stopped or not"),
        (
            "moto.stepfunctions.parser.asl.eval.environment.Environment._state_mutex",
            "guards the program state",
        ),
        ("moto.stepfunctions.parser.asl.eval.environment.Environment._program_state", "running, stopped..."),
        ("moto.stepfunctions.parser.asl.eval.program_state.ProgramStopped", "the state StopExecution sets"),
        ("moto.stepfunctions.parser.asl.eval.program_state.ProgramEnded", "an execution that succeeded"),
        ("moto.stepfunctions.parser.asl.eval.program_state.ProgramError", "an execution that failed"),
        ("moto.stepfunctions.parser.asl.eval.program_state.ProgramTimedOut", "an execution that timed out"),
        ("moto.stepfunctions.parser.api.ExecutionStatus", "the statuses an execution ends in"),
        *(
            (f"moto.stepfunctions.parser.api.ExecutionStatus.{status}", "a status an execution ends in")
            for status in ("SUCCEEDED", "ABORTED", "FAILED", "TIMED_OUT")
        ),
        (
            "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication.execution",
            "the execution whose worker ended",
        ),
        (
            "moto.stepfunctions.parser.backend.execution.Execution.exec_worker",
            "its worker, whose environment holds the program's end and output",
        ),
        (
            "moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker.env",
            "the program's environment",
        ),
        ("moto.stepfunctions.parser.backend.execution.Execution.exec_status", "set last"),
        ("moto.stepfunctions.parser.backend.execution.Execution.stop_date", "when it ended"),
        ("moto.stepfunctions.parser.backend.execution.Execution.output", "a success's output"),
        ("moto.stepfunctions.parser.backend.execution.Execution.error", "a failure's error"),
        ("moto.stepfunctions.parser.backend.execution.Execution.cause", "a failure's cause"),
        ("moto.stepfunctions.parser.asl.eval.environment.Environment.program_state", "how the program ended"),
        ("moto.stepfunctions.parser.asl.eval.environment.Environment.states", "the output is its input"),
        (
            "moto.stepfunctions.parser.asl.eval.environment.Environment.callback_pool_manager",
            "the execution's task tokens (its frames share the pool)",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackPoolManager._pool",
            "token -> endpoint",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.interrupt_all",
            "ends the waits of a task, as moto does when a task ends",
        ),
        (
            "moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint._heartbeat_endpoint",
            "the heartbeat clock of a task (None when the task has no HeartbeatSeconds)",
        ),
    ],
)
