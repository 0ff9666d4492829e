"""MockConfigFile test cases for the embedded Step Functions engine, as Step Functions Local runs them.

``SFN_MOCK_CONFIG`` names the mock configuration file. StartExecution on ``<stateMachineArn>#<TestCase>``
runs an ordinary execution of that state machine (its ARN has the state machine's name; Describe and List
see it as usual) with the test case's mocked responses, with the semantics AWS documents for Step Functions
Local:

* every invocation of a mocked Task state, retries and Map iterations included, takes that state's next call
  number (``"0"``, then ``"1"``...; a key ``"1-2"`` answers calls 1 and 2). A call with no response defined
  fails the execution;
* ``Return`` is what the service answered; ``Throw`` (``Error``, ``Cause``) fails the attempt exactly as that
  error would, so the state's Retry and Catch handle it;
* a Task state the test case does not name calls its service for real;
* a ``.waitForTaskToken`` Task takes its mocked response as the callback's answer, without waiting.

``SFN_MOCK_RETRY_INTERVAL_SCALE`` (ours, default 1) multiplies the pause between retries of a test case's
execution: 0 keeps every retry and call number but drops the dead time (the suite of ``tests/workflows`` runs
that way). Executions without a test case always wait as written.

moto 5.2.5 ships the data model and its evaluation (``moto.stepfunctions.parser.mocking``) but never loads a
file nor hands a test case to an execution. This module does both, reusing moto's classes, and corrects what
moto's mocking gets wrong: it numbers calls by the state's ``RetryCount`` (which restarts at 0 in every Map
iteration); a ``Throw`` of a ``States.*`` error crashes its custom-error constructor; and most service
integrations rename a thrown error (``DynamoDB.ConditionalCheckFailedException`` becomes
``DynamoDB.AmazonDynamoDBException``), so Retry and Catch would not see the error the file names.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.stepfunctions.exceptions import InvalidName
from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.mocking.mock_config import (
    MockedResponse,
    MockedResponseReturn,
    MockedResponseThrow,
    MockTestCase,
    StateMockedResponses,
)
from moto.stepfunctions.responses import ActionResult

from localaws.patches import registry
from localaws.stepfunctions import wait_scale
from localaws.stepfunctions.mock_config_names import ENVIRONMENT_VARIABLE, RETRY_INTERVAL_SCALE_VARIABLE

TEST_CASE_SEPARATOR = "#"

_MOCKING = "moto.stepfunctions.parser.mocking.mock_config"
_START_EXECUTION_ACTION = "moto.stepfunctions.responses.StepFunctionResponse.start_execution"
# The name StartExecution constructs its execution by (stock moto's and our speed-up's alike).
_EXECUTION_CONSTRUCTOR = "moto.stepfunctions.parser.models.Execution"
_ENVIRONMENT = "moto.stepfunctions.parser.asl.eval.environment.Environment"
_GET_MOCKED_RESPONSE = f"{_ENVIRONMENT}.get_current_mocked_response"
_MOCK_EVAL = "moto.stepfunctions.parser.asl.component.state.exec.state_task.mock_eval_utils"
_EVAL_THROW = f"{_MOCK_EVAL}._eval_mocked_response_throw"
_STATES_ERROR_NAME = (
    "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name.StatesErrorName"
)
_STATES_ERROR_TYPE = (
    "moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type.StatesErrorNameType"
)
_FAILURE_EVENT = "moto.stepfunctions.parser.asl.component.common.error_name.failure_event"
_EVENT_DETAILS = "moto.stepfunctions.parser.asl.eval.event.event_detail.EventDetails"
_HISTORY_EVENT_TYPE = "moto.stepfunctions.parser.api.HistoryEventType"
_RETRIER = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
_TIMEOUT_ERRORS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})
_CALL_NUMBERS = re.compile(r"^(\d+)(?:-(\d+))?$")


class MockConfigError(ValueError):
    """The mock configuration file is missing or invalid, or does not define what was asked for."""


# -- the file --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MockConfig:
    """A validated mock configuration file: each test case's mocked responses, per state."""

    path: Path
    test_cases: dict[tuple[str, str], dict[str, StateMockedResponses]]  # (state machine, test case) → state

    def state_machines(self) -> list[str]:
        return sorted({machine for machine, _ in self.test_cases})

    def responses_for(self, state_machine: str, test_case: str) -> dict[str, StateMockedResponses]:
        found = self.test_cases.get((state_machine, test_case))
        if found is not None:
            return found
        cases = sorted(case for machine, case in self.test_cases if machine == state_machine)
        if not cases:
            raise MockConfigError(
                f"{self.path}: no test cases for state machine {state_machine!r} "
                f"(StateMachines defines {self.state_machines() or 'none'})"
            )
        raise MockConfigError(
            f"{self.path}: state machine {state_machine!r} has no test case {test_case!r} (it has {cases})"
        )


def _object(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    problems.append(f"{where}: must be a JSON object, not {type(value).__name__}")
    return {}


def _call_numbers(key: str) -> tuple[int, int] | None:
    """``"3"`` → (3, 3); ``"1-2"`` → (1, 2); anything else → None."""
    match = _CALL_NUMBERS.match(key)
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    return (first, last) if last >= first else None


def _mocked_response(name: str, key: str, body: Any, problems: list[str]) -> MockedResponse | None:
    where = f'MockedResponses.{name}."{key}"'
    numbers = _call_numbers(key)
    if numbers is None:
        problems.append(f'{where}: a call number is "0", "1"... or an inclusive range such as "1-2"')
        return None
    body = _object(body, where, problems)
    kinds = [kind for kind in ("Return", "Throw") if kind in body]
    others = sorted(set(body) - {"Return", "Throw"})
    if len(kinds) != 1 or others:
        problems.append(f"{where}: must hold exactly one field, Return or Throw (found {sorted(body)})")
        return None
    first, last = numbers
    if kinds == ["Return"]:
        return MockedResponseReturn(range_start=first, range_end=last, payload=body["Return"])
    throw = _object(body["Throw"], f"{where}.Throw", problems)
    error, cause = throw.get("Error"), throw.get("Cause", "")
    unknown = sorted(set(throw) - {"Error", "Cause"})
    if not isinstance(error, str) or not error or not isinstance(cause, str) or unknown:
        problems.append(f"{where}.Throw: needs a string Error and a string Cause, nothing else")
        return None
    if error.startswith("States.") and not _is_states_error(error):
        problems.append(f"{where}.Throw.Error: {error!r} is not an error name of Step Functions")
        return None
    return MockedResponseThrow(range_start=first, range_end=last, error=error, cause=cause)


def _is_states_error(error: str) -> bool:
    try:
        registry.resolve(_STATES_ERROR_TYPE).from_name(error)
    except ValueError:
        return False
    return True


def parse(document: Any, path: Path) -> MockConfig:
    """Validate a mock configuration; every problem is reported at once, each with where it is."""
    problems: list[str] = []
    root = _object(document, "the file", problems)
    unknown = sorted(set(root) - {"StateMachines", "MockedResponses"})
    if unknown:
        problems.append(f"unknown top-level fields {unknown} (expected StateMachines and MockedResponses)")
    machines = _object(root.get("StateMachines", {}), "StateMachines", problems)
    raw_responses = _object(root.get("MockedResponses", {}), "MockedResponses", problems)

    responses: dict[str, list[MockedResponse]] = {}
    for name, raw_calls in raw_responses.items():
        calls = _object(raw_calls, f"MockedResponses.{name}", problems)
        if not calls:
            problems.append(f"MockedResponses.{name}: defines no call numbers")
        parsed = [_mocked_response(name, key, body, problems) for key, body in calls.items()]
        responses[name] = [response for response in parsed if response is not None]

    test_cases: dict[tuple[str, str], dict[str, StateMockedResponses]] = {}
    for machine, raw_machine in machines.items():
        machine_body = _object(raw_machine, f"StateMachines.{machine}", problems)
        if set(machine_body) != {"TestCases"}:
            problems.append(f"StateMachines.{machine}: must hold exactly one field, TestCases")
        cases = _object(machine_body.get("TestCases", {}), f"StateMachines.{machine}.TestCases", problems)
        for case, states in cases.items():
            where = f"StateMachines.{machine}.TestCases.{case}"
            per_state: dict[str, StateMockedResponses] = {}
            for state, response_name in _object(states, where, problems).items():
                if not isinstance(response_name, str) or response_name not in raw_responses:
                    problems.append(
                        f"{where}.{state}: {response_name!r} is not a name defined in MockedResponses"
                    )
                    continue
                try:
                    # moto checks the numbering: consecutive, from "0", no overlap.
                    per_state[state] = StateMockedResponses(
                        state_name=state,
                        mocked_response_name=response_name,
                        mocked_responses=responses[response_name],
                    )
                except (RuntimeError, ValueError) as exc:
                    problems.append(f"{where}.{state} → MockedResponses.{response_name}: {exc}")
            test_cases[(machine, case)] = per_state
    if problems:
        raise MockConfigError(f"invalid mock configuration {path}:\n  " + "\n  ".join(problems))
    return MockConfig(path=path, test_cases=test_cases)


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime_ns: int, _size: int) -> MockConfig:
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise MockConfigError(f"{path} is not valid JSON: {exc}") from exc
    return parse(document, path)


def load(path: Path | str | None = None) -> MockConfig:
    """The file ``path`` (default: ``$SFN_MOCK_CONFIG``), read again only when it changes."""
    if path is None:
        path = os.environ.get(ENVIRONMENT_VARIABLE)
        if not path:
            raise MockConfigError(
                f"an execution of a test case needs a mock configuration file: set {ENVIRONMENT_VARIABLE}"
            )
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise MockConfigError(f"mock configuration file {resolved}: {exc.strerror}") from exc
    return _load_cached(resolved, stat.st_mtime_ns, stat.st_size)


# -- one execution of a test case ------------------------------------------------------------------------


class ExecutionMocks(MockTestCase):
    """A test case as one execution uses it: each state's calls are counted across retries and iterations."""

    def __init__(self, state_machine_name: str, test_case_name: str, states: dict[str, StateMockedResponses]):
        super().__init__(state_machine_name, test_case_name, list(states.values()))
        self._calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()
        self.execution: Execution | None = None
        self.retry_interval_scale = _retry_interval_scale()

    def calls(self, state_name: str) -> int:
        with self._calls_lock:
            return self._calls.get(state_name, 0)

    def next_response(self, state_name: str) -> MockedResponse:
        with self._calls_lock:
            call = self._calls.get(state_name, 0)
            self._calls[state_name] = call + 1
        responses = self.state_mocked_responses[state_name].mocked_responses
        if call < len(responses):
            return responses[call]
        response_name = self.state_mocked_responses[state_name].mocked_response_name
        cause = (
            f"test case {self.test_case_name!r} of state machine {self.state_machine_name!r}: state "
            f"{state_name!r} was called for call number {call}, but its mocked responses "
            f"({response_name!r}) define calls 0-{len(responses) - 1}"
        )
        self._fail_execution(cause)
        raise MockConfigError(cause)

    def _fail_execution(self, cause: str) -> None:
        # Documented: a call without a mocked response fails the execution (a Catch must not absorb it).
        worker = self.execution.exec_worker if self.execution is not None else None
        if worker is not None and worker.env is not None:
            worker.env.set_error({"error": "States.Runtime", "cause": cause})


def _retry_interval_scale() -> float:
    text = os.environ.get(RETRY_INTERVAL_SCALE_VARIABLE, "1")
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 <= scale < float("inf"):
        raise MockConfigError(f"{RETRY_INTERVAL_SCALE_VARIABLE}={text!r}: expected a number, 0 or more")
    return scale


def _state_names(definition: dict[str, Any]) -> Iterator[str]:
    """Every state of a definition, those inside Map and Parallel states included."""
    for name, state in definition.get("States", {}).items():
        yield name
        for nested in ("ItemProcessor", "Iterator"):
            if nested in state:
                yield from _state_names(state[nested])
        for branch in state.get("Branches", []):
            yield from _state_names(branch)


def split_test_case_arn(state_machine_arn: str) -> tuple[str, str | None]:
    """``arn...:stateMachine:Name#HappyPath`` → (``arn...:stateMachine:Name``, ``HappyPath``)."""
    arn, separator, test_case = state_machine_arn.partition(TEST_CASE_SEPARATOR)
    return arn, (test_case if separator else None)


def test_case_for(state_machine: Any, test_case_name: str | None) -> ExecutionMocks | None:
    """The mocks for one execution of ``state_machine`` (moto's model), or None when no test case is named.

    Raises moto's ``InvalidName`` (a client error of StartExecution) when the file or the case is wrong.
    """
    if test_case_name is None:
        return None
    try:
        config = load()
        states = config.responses_for(state_machine.name, test_case_name)
        defined = set(_state_names(json.loads(state_machine.definition)))
        strangers = sorted(set(states) - defined)
        if strangers:
            raise MockConfigError(
                f"{config.path}: test case {test_case_name!r} of state machine {state_machine.name!r} mocks "
                f"{strangers}, which the state machine does not have"
            )
        return ExecutionMocks(state_machine.name, test_case_name, states)
    except MockConfigError as exc:
        raise InvalidName(f"Invalid mock test case name {test_case_name!r}: {exc}") from exc


class MockedExecution(Execution):
    """moto's Execution, handing its test case to the worker (moto's own never passes one)."""

    def __init__(self, *args: Any, mocks: ExecutionMocks, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mocks = mocks
        mocks.execution = self

    def _get_start_execution_worker(self) -> ExecutionWorker:
        # moto's Execution._get_start_execution_worker, plus the test case.
        return ExecutionWorker(
            evaluation_details=EvaluationDetails(
                aws_execution_details=self._get_start_aws_execution_details(),
                execution_details=self.get_start_execution_details(),
                state_machine_details=self.get_start_state_machine_details(),
            ),
            exec_comm=self._get_start_execution_worker_comm(),
            cloud_watch_logging_session=self._cloud_watch_logging_session,
            activity_store=self._activity_store,
            mock_test_case=self.mocks,
        )


# -- StartExecution on `<stateMachineArn>#<TestCase>` ---------------------------------------------------

# The test case of the StartExecution this thread is serving, for the Execution it is about to construct.
_starting = threading.local()


def _execution(*args: Any, **kwargs: Any) -> Execution:
    """What StartExecution constructs (whoever implements it): moto's Execution, or one running mocks."""
    mocks: ExecutionMocks | None = getattr(_starting, "mocks", None)
    if mocks is None:
        return Execution(*args, **kwargs)
    return MockedExecution(*args, mocks=mocks, **kwargs)


def _start_execution_action(self: Any) -> ActionResult:
    """moto's StartExecution action, which also takes a test case after the state machine ARN."""
    state_machine_arn, test_case_name = split_test_case_arn(self._get_param("stateMachineArn"))
    if test_case_name is None:
        return registry.original(_START_EXECUTION_ACTION)(self)
    backend = self.stepfunction_backend
    _starting.mocks = test_case_for(backend.describe_state_machine(state_machine_arn), test_case_name)
    try:
        execution = backend.start_execution(
            state_machine_arn, self._get_param("name"), self._get_param("input", if_none="{}")
        )
    finally:
        _starting.mocks = None
    return ActionResult({"executionArn": execution.execution_arn, "startDate": execution.start_date})


# -- the two corrections to moto's evaluation ------------------------------------------------------------


def _current_mocked_response(env: Any) -> MockedResponse:
    mocks = env.mock_test_case
    if isinstance(mocks, ExecutionMocks):
        return mocks.next_response(env.next_state_name)
    response: MockedResponse = registry.original(_GET_MOCKED_RESPONSE)(env)
    return response


def _throw(env: Any, mocked_response: MockedResponseThrow) -> None:
    if not mocked_response.error.startswith("States."):
        registry.original(_EVAL_THROW)(env, mocked_response)
        return
    failure_event = registry.resolve(_FAILURE_EVENT)
    event_details = registry.resolve(_EVENT_DETAILS)
    history_event_type = registry.resolve(_HISTORY_EVENT_TYPE)
    details = {"error": mocked_response.error, "cause": mocked_response.cause}
    if mocked_response.error in _TIMEOUT_ERRORS:
        event_type, event = history_event_type.TaskTimedOut, {"taskTimedOutEventDetails": details}
    else:
        event_type, event = history_event_type.TaskFailed, {"taskFailedEventDetails": details}
    raise failure_event.FailureEventException(
        failure_event=failure_event.FailureEvent(
            env=env,
            error_name=registry.resolve(_STATES_ERROR_NAME).from_name(mocked_response.error),
            event_type=event_type,
            event_details=event_details(**event),
        )
    )


_retrying = threading.local()


class _RetryClock:
    """Stands in for the ``time`` module inside moto's retrier: its pause is scaled for test cases, and by
    the engine's wait scale (``localaws.stepfunctions.wait_scale``) for every execution."""

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * getattr(_retrying, "scale", 1.0) * wait_scale.current())

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _retrier_eval_body(self: Any, env: Any) -> None:
    mocks = env.mock_test_case
    _retrying.scale = mocks.retry_interval_scale if isinstance(mocks, ExecutionMocks) else 1.0
    try:
        with wait_scale.waiting_for(env):
            registry.original(f"{_RETRIER}.RetrierDecl._eval_body")(self, env)
    finally:
        _retrying.scale = 1.0


def _keeping_mocked_failures(path: str) -> Callable[[Any, Any, Exception], Any]:
    """A service's ``_from_error`` that keeps a mocked Throw's error (moto's own renames it generically)."""

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, registry.resolve(f"{_FAILURE_EVENT}.FailureEventException")):
            return ex.failure_event
        return registry.original(path)(self, env, ex)

    return from_error


_SERVICE = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
# Integrations whose error mapping turns any non-ClientError into e.g. DynamoDB.AmazonDynamoDBException.
_SERVICES_RENAMING_FAILURES = tuple(
    f"{_SERVICE}.{module}.{cls}._from_error"
    for module, cls in (
        ("state_task_service_api_gateway", "StateTaskServiceApiGateway"),
        ("state_task_service_aws_sdk", "StateTaskServiceAwsSdk"),
        ("state_task_service_batch", "StateTaskServiceBatch"),
        ("state_task_service_dynamodb", "StateTaskServiceDynamoDB"),
        ("state_task_service_events", "StateTaskServiceEvents"),
        ("state_task_service_glue", "StateTaskServiceGlue"),
        ("state_task_service_lambda", "StateTaskServiceLambda"),
        ("state_task_service_sfn", "StateTaskServiceSfn"),
        ("state_task_service_sns", "StateTaskServiceSns"),
        ("state_task_service_sqs", "StateTaskServiceSqs"),
    )
)

_PATCHES: dict[str, tuple[Any, str]] = {
    _START_EXECUTION_ACTION: (_start_execution_action, "StartExecution on <stateMachineArn>#<TestCase>"),
    _EXECUTION_CONSTRUCTOR: (_execution, "an execution started with a test case runs its mocks"),
    _GET_MOCKED_RESPONSE: (
        _current_mocked_response,
        "number mocked calls per state and execution (moto restarts at 0 in each Map iteration)",
    ),
    _EVAL_THROW: (_throw, "a mocked Throw of a States.* error (moto's custom error name refuses the prefix)"),
    f"{_RETRIER}.time": (
        _RetryClock(),
        f"the pause between retries, scaled by {RETRY_INTERVAL_SCALE_VARIABLE}",
    ),
    f"{_RETRIER}.RetrierDecl._eval_body": (_retrier_eval_body, "tells the retry pause whose execution it is"),
    **{
        path: (_keeping_mocked_failures(path), "a mocked Throw keeps its error name, as a real error would")
        for path in _SERVICES_RENAMING_FAILURES
    },
}


MOCK_CONFIG = registry.PatchSet(
    "mock config",
    [registry.Patch(path, replacement, reason) for path, (replacement, reason) in _PATCHES.items()],
    reads=[
        (f"{_MOCKING}.MockTestCase", "base of a test case as one execution uses it"),
        (f"{_MOCKING}.StateMockedResponses", "a state's mocked responses; checks their numbering"),
        (f"{_MOCKING}.MockedResponseReturn", "a Return"),
        (f"{_MOCKING}.MockedResponseThrow", "a Throw"),
        (f"{_MOCKING}.MockedResponse", "the response a mocked state answers with"),
        ("moto.stepfunctions.parser.backend.execution.Execution", "subclassed to pass the test case"),
        *(
            (
                f"moto.stepfunctions.parser.backend.execution.Execution.{name}",
                "the worker built as moto builds it",
            )
            for name in (
                "_get_start_aws_execution_details",
                "_get_start_execution_worker_comm",
                "_cloud_watch_logging_session",
                "_activity_store",
            )
        ),
        ("moto.core.responses.BaseResponse._get_param", "StartExecution's stateMachineArn, name and input"),
        (
            "moto.stepfunctions.parser.backend.execution.Execution._get_start_execution_worker",
            "overridden to pass the test case",
        ),
        ("moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker", "takes the test case"),
        (
            "moto.stepfunctions.parser.asl.eval.evaluation_details.EvaluationDetails",
            "built as moto's Execution builds it",
        ),
        ("moto.stepfunctions.exceptions.InvalidName", "StartExecution's answer to an unknown test case"),
        (_STATES_ERROR_NAME, "a mocked States.* error"),
        (_STATES_ERROR_TYPE, "known States.* error names"),
        (f"{_FAILURE_EVENT}.FailureEvent", "a mocked States.* error"),
        (f"{_FAILURE_EVENT}.FailureEventException", "a mocked States.* error"),
        (_EVENT_DETAILS, "history details of a mocked States.* error"),
        (_HISTORY_EVENT_TYPE, "TaskFailed / TaskTimedOut of a mocked States.* error"),
        ("moto.stepfunctions.responses.ActionResult", "StartExecution's answer"),
    ],
)
