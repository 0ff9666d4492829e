"""The Step Functions TestState API, served by the embedded endpoint.

AWS documents Step Functions Local as unsupported and points to TestState for unit tests of single states; in
November 2025 it gained mocks, ``stateName`` and a state configuration. This module answers the stock
``aws stepfunctions test-state`` and boto3's ``test_state`` with AWS's request and response shapes (botocore's
model of ``TestState``):

* ``definition`` is one state, or a whole state machine with ``stateName`` (a state inside a Map's
  ItemProcessor or a Parallel's branch can be named too; without ``stateName``, its StartAt state);
* ``input``, ``context`` (merged into the context object: ``Execution``, ``Task.Token``, ``Map.Item``...) and
  ``variables``;
* ``mock``: ``result`` (checked against the service's API model under ``fieldValidationMode``, see
  ``mock_validation``) or ``errorOutput`` (the state fails with that error, so its Retry and Catch apply);
* ``stateConfiguration``: ``retrierRetryCount`` (the retries already made: the matching retrier answers
  RETRIABLE with its backoff until its MaxAttempts are used, then the error goes on to Catch),
  ``errorCausedByState`` (must name a state inside the tested Map or Parallel), ``mapIterationFailureCount``
  (against the Map's ToleratedFailureCount / ToleratedFailurePercentage: beyond it the Map fails with
  ``States.ExceedToleratedFailureThreshold``) and ``mapItemReaderData`` (checked as JSON; a Map here is
  always mocked, so nothing reads it);
* the answer: ``status`` (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR), ``nextState``, ``output``, ``error``,
  ``cause``, and at DEBUG and TRACE ``inspectionData`` (input, afterInputPath, afterParameters or
  afterArguments, result, afterResultSelector, afterResultPath, errorDetails with the catch or retry index and
  the backoff; a Map's maxConcurrency and tolerated failures). A step the state does not declare passes its
  data on unchanged, and is reported so.

The evaluation is moto's own ASL interpreter, the one our executions run on: its TestState parser (which
already records the inspection data of each step) and its components evaluate the state. What TestState
means beyond one evaluation is ours: a mocked Task answers without calling its service; a retriable error
stops at RETRIABLE instead of sleeping and retrying; a Wait state does not wait; a Map or Parallel is only
tested with a mock (as AWS requires), and so are ``.waitForTaskToken``, ``.sync`` and Activity Tasks (nothing
answers them here). Without a mock a Task calls its service for real, i.e. the embedded backends. What is not
served: HTTP Tasks (moto has none, so TRACE adds no request and response), and JSONata expressions and
``$variables``, which moto would evaluate with a JSONata engine it does not ship: such a state answers FAILED,
``States.Runtime``, saying so.
"""

from __future__ import annotations

import copy
import datetime
import functools
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from antlr4 import CommonTokenStream, InputStream
from moto.stepfunctions.parser.api import StateMachineType
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.component.common.catch.catch_outcome import CatchOutcome
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.retry.retry_outcome import RetryOutcome
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_activitiy import (
    StateTaskActivity,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.wait.state_wait import StateWait
from moto.stepfunctions.parser.asl.eval.evaluation_details import AWSExecutionDetails
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
from moto.stepfunctions.parser.asl.eval.states import ContextObjectData, ExecutionData, StateMachineData
from moto.stepfunctions.parser.asl.eval.test_state.environment import TestStateEnvironment
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException, SyntaxErrorListener
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.parse.test_state.preprocessor import TestStatePreprocessor
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from localaws.patches import registry
from localaws.stepfunctions import mock_validation

_ASL = "moto.stepfunctions.parser.asl"
_STATE = f"{_ASL}.component.state"
_TASK = f"{_STATE}.exec.state_task"
for _path, _reason in (
    (f"{_ASL}.parse.asl_parser.ASLParserException", "a definition that does not parse"),
    (f"{_ASL}.eval.test_state.environment.TestStateEnvironment", "the environment one state is tested in"),
    (f"{_ASL}.eval.test_state.environment.TestStateEnvironment.inspection_data", "the steps' recorded data"),
    (
        f"{_ASL}.component.test_state.program.test_state_program.TestStateProgram.test_state",
        "the parsed state",
    ),
    (f"{_ASL}.eval.evaluation_details.AWSExecutionDetails", "account, region and role of the test"),
    (f"{_ASL}.eval.event.event_manager.EventHistoryContext.of_program_start", "the test's event history"),
    (f"{_ASL}.eval.event.event_detail.EventDetails", "the TaskFailed details of a mocked error"),
    (f"{_ASL}.eval.states.ContextObjectData", "the context object ($$) of the test"),
    (f"{_ASL}.eval.states.ExecutionData", "the context object ($$) of the test"),
    (f"{_ASL}.eval.states.StateMachineData", "the context object ($$) of the test"),
    (f"{_ASL}.eval.states.States.reset", "the state's input"),
    (f"{_ASL}.eval.states.States.get_input", "the state's output"),
    (f"{_ASL}.eval.states.States.context_object", "the context object, merged with the request's"),
    (f"{_ASL}.eval.environment.Environment.next_state_name", "the state evaluated, then the next one"),
    (f"{_ASL}.eval.environment.Environment.is_running", "whether the state went on (not Succeed/Fail/End)"),
    (f"{_ASL}.eval.environment.Environment.set_stop", "a retriable error stops the evaluation there"),
    (f"{_ASL}.eval.environment.Environment.stack", "the evaluation stack moto's components use"),
    (f"{_ASL}.eval.environment.Environment.variable_store", "the request's variables"),
    (f"{_ASL}.eval.variable_store.VariableStore.set", "the request's variables"),
    (f"{_ASL}.utils.encoding.to_json_str", "JSON as moto writes it"),
    (f"{_ASL}.component.common.error_name.failure_event.FailureEvent", "a mocked error"),
    (f"{_ASL}.component.common.error_name.failure_event.FailureEventException", "a state's failure"),
    (
        f"{_ASL}.component.common.error_name.failure_event.FailureEventException.get_execution_failed_event_details",
        "the error and cause of a failure",
    ),
    (
        f"{_ASL}.component.common.error_name.failure_event.FailureEventException.failure_event",
        "its error name",
    ),
    (
        f"{_ASL}.component.common.error_name.failure_event.FailureEvent.error_name",
        "what Retry and Catch match",
    ),
    (f"{_ASL}.component.common.error_name.states_error_name.StatesErrorName.from_name", "a mocked States.*"),
    (f"{_ASL}.component.common.error_name.custom_error_name.CustomErrorName", "a mocked error of its own"),
    (f"{_ASL}.component.common.catch.catch_outcome.CatchOutcome", "whether a Catch caught the error"),
    (f"{_ASL}.component.common.retry.retry_outcome.RetryOutcome", "what our Retry decision answers"),
    (
        f"{_STATE}.exec.execute_state.ExecutionState",
        "Task, Map and Parallel: the states with Retry and Catch",
    ),
    (f"{_STATE}.exec.execute_state.ExecutionState._eval_execution", "replaced on the parsed state by a mock"),
    (f"{_STATE}.exec.execute_state.ExecutionState._handle_retry", "replaced on the parsed state: no sleep"),
    (f"{_STATE}.exec.execute_state.ExecutionState._handle_catch", "wrapped on the parsed state: catch index"),
    (f"{_STATE}.exec.execute_state.ExecutionState._from_error", "wrapped: a mocked error keeps its name"),
    (f"{_STATE}.exec.execute_state.ExecutionState.retry", "the state's retriers"),
    (f"{_STATE}.exec.execute_state.ExecutionState.catch", "the state's catchers"),
    (f"{_ASL}.component.common.retry.retry_decl.RetryDecl.retriers", "each retrier, in order"),
    (f"{_ASL}.component.common.retry.retrier_decl.RetrierDecl.error_equals", "which errors a retrier takes"),
    (f"{_ASL}.component.common.retry.retrier_decl.RetrierDecl.max_attempts", "MaxAttempts"),
    (f"{_ASL}.component.common.retry.retrier_decl.RetrierDecl.interval_seconds", "IntervalSeconds"),
    (f"{_ASL}.component.common.retry.retrier_decl.RetrierDecl.backoff_rate", "BackoffRate"),
    (f"{_ASL}.component.common.retry.retrier_decl.RetrierDecl.max_delay_seconds", "MaxDelaySeconds"),
    (f"{_ASL}.component.common.retry.max_attempts_decl.MaxAttemptsDecl.attempts", "MaxAttempts"),
    (f"{_ASL}.component.common.retry.interval_seconds_decl.IntervalSecondsDecl.seconds", "IntervalSeconds"),
    (f"{_ASL}.component.common.retry.backoff_rate_decl.BackoffRateDecl.rate", "BackoffRate"),
    (
        f"{_ASL}.component.common.retry.max_delay_seconds_decl.MaxDelaySecondsDecl.max_delays_seconds",
        "MaxDelaySeconds",
    ),
    (f"{_ASL}.component.common.catch.catch_decl.CatchDecl.catchers", "each catcher, in order"),
    (f"{_ASL}.component.common.catch.catcher_decl.CatcherDecl.error_equals", "which errors a catcher takes"),
    (f"{_ASL}.component.common.error_name.error_equals_decl.ErrorEqualsDecl.eval", "does an error match"),
    (f"{_STATE}.state.CommonStateField.name", "the tested state's name ($$.State.Name, Next)"),
    (f"{_STATE}.state.CommonStateField.eval", "evaluates the tested state"),
    (f"{_STATE}.choice.state_choice.StateChoice", "moto's TestState parser stops a Choice before its output"),
    (f"{_STATE}.wait.state_wait.StateWait", "a tested Wait does not wait"),
    (f"{_STATE}.wait.state_wait.StateWait.wait_function", "a tested Wait does not wait"),
    (f"{_STATE}.wait.wait_function.wait_function.WaitFunction._wait_interval", "replaced: no waiting"),
    (f"{_TASK}.state_task.StateTask", "Task states"),
    (f"{_TASK}.state_task.StateTask._eval_parameters", "a mocked Task still evaluates its Parameters"),
    (f"{_TASK}.state_task.StateTask.resource", "the Task's resource ARN"),
    (
        f"{_TASK}.state_task_lambda.StateTaskLambda",
        "a Lambda function ARN: the mock is the function's output",
    ),
    (f"{_TASK}.service.state_task_service_callback.StateTaskServiceCallback", ".waitForTaskToken and .sync"),
    (f"{_TASK}.service.resource.Resource.resource_arn", "the Task's resource ARN"),
    (f"{_TASK}.service.resource.ServiceResource.condition", ".waitForTaskToken / .sync need a mock"),
    ("moto.stepfunctions.parser.api.StateMachineType", "the test runs as a Standard execution"),
    ("moto.stepfunctions.parser.api.StateMachineType.STANDARD", "the test runs as a Standard execution"),
    (f"{_ASL}.component.common.error_name.states_error_name.StatesErrorName", "a mocked States.* error"),
    (f"{_TASK}.service.state_task_service_callback", ".waitForTaskToken and .sync Tasks"),
    (f"{_ASL}.eval.event.event_manager.EventHistoryContext", "the test's event history"),
    (f"{_ASL}.component.common.catch.catch_outcome.CatchOutcome.Caught", "a Catch caught the error"),
    (f"{_ASL}.component.common.retry.retry_outcome.RetryOutcome.CannotRetry", "retries used up: on to Catch"),
    (f"{_ASL}.component.common.retry.retry_outcome.RetryOutcome.NoRetrier", "no retrier takes the error"),
    (
        f"{_ASL}.component.common.retry.retry_outcome.RetryOutcome.CanRetry",
        "retriable: moto's loop then ends",
    ),
    (
        f"{_STATE}.choice.state_choice.StateChoice._eval_body",
        "moto's TestState parser wraps it on the instance",
    ),
    (f"{_ASL}.eval.variable_store.VariableStore._inner_scope", "the variables after the state's Assign"),
    (
        f"{_ASL}.parse.test_state.preprocessor.TestStatePreprocessor",
        "parses the tested state, recording its steps",
    ),
    (f"{_ASL}.parse.test_state.preprocessor.TestStatePreprocessor.visitState_decl_body", "the tested state"),
    (f"{_ASL}.parse.preprocessor.Preprocessor", "states nested in the tested Map or Parallel"),
    (f"{_ASL}.parse.preprocessor.Preprocessor.visitState_decl_body", "states nested in the tested state"),
    (f"{_ASL}.parse.asl_parser.SyntaxErrorListener", "as moto's parser collects syntax errors"),
    (f"{_ASL}.antlr.runtime.ASLLexer.ASLLexer", "as moto's TestState parser lexes a state"),
    (f"{_ASL}.antlr.runtime.ASLParser.ASLParser", "as moto's TestState parser parses a state"),
    (f"{_TASK}.state_task_activitiy.StateTaskActivity", "an Activity Task waits for a worker: mock only"),
    # localaws.lazy_moto: the parser imports this enum; Batch's package runs when its backends are read.
    ("moto.batch.utils.JobStatus", "imported by moto's parser without running moto.batch's __init__"),
    ("moto.batch.batch_backends", "read through moto.batch's module __getattr__ (localaws.lazy_moto)"),
):
    registry.register(_path, _reason)

VALIDATION = "ValidationException"
INVALID_DEFINITION = "InvalidDefinition"
INVALID_INPUT = "InvalidExecutionInput"

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
_MOCKABLE = frozenset({"Task", "Map", "Parallel"})
_SUPPORTED = ("Task", "Wait", "Pass", "Succeed", "Fail", "Choice")
_MAX_DATA = 262144
_TOLERANCE_EXCEEDED = (
    "States.ExceedToleratedFailureThreshold",
    "The specified tolerated failure threshold was exceeded",
)
_NO_CHOICE = "States.NoChoiceMatched"
# moto ships no JSONata evaluator (LocalStack's runs in a JVM); moto reads $variables with it too.
_JSONATA_EVALUATOR = registry.register(
    f"{_ASL}.jsonata.jsonata._eval_jsonata", "None in moto 5.2.5: no JSONata, hence no $variables"
)
_NO_JSONATA = (
    "The embedded engine (moto) does not evaluate JSONata expressions, nor $variables, which it reads with "
    "JSONata: this state cannot be tested locally"
)


class TestStateRequestError(Exception):
    """A request TestState refuses, as AWS does: an error code and a message naming the field."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Mock:
    """A mocked ``result`` (``has_result``) or a mocked error."""

    result: Any = None
    has_result: bool = False
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class StateConfiguration:
    """The request's ``stateConfiguration``."""

    retrier_retry_count: int = 0
    error_caused_by_state: str | None = None
    map_iteration_failure_count: int | None = None
    map_item_reader_data: Any = None


@dataclass(frozen=True)
class TestStateRequest:
    """A TestState request, checked."""

    __test__ = False

    state_name: str
    state: dict[str, Any]
    input: Any
    role_arn: str
    inspection_level: str
    context: dict[str, Any]
    variables: dict[str, Any]
    mock: Mock | None
    configuration: StateConfiguration


@dataclass
class _Outcome:
    """What the evaluation of the state ended with, beyond what the environment holds."""

    retriable: tuple[str, str] | None = None
    caught: tuple[str, str] | None = None
    error_details: dict[str, Any] = field(default_factory=dict)


# -- the request --------------------------------------------------------------------------------------------


def _json_field(request: dict[str, Any], name: str, default: Any) -> Any:
    text = request.get(name)
    if text is None:
        return default
    if not isinstance(text, str):
        raise TestStateRequestError(VALIDATION, f"'{name}' must be a string holding JSON")
    if len(text) > _MAX_DATA:
        raise TestStateRequestError(VALIDATION, f"'{name}' is longer than {_MAX_DATA} characters")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        code = INVALID_INPUT if name == "input" else VALIDATION
        raise TestStateRequestError(code, f"'{name}' is not valid JSON: {exc}") from exc


def _states_within(state: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state nested in a Map's ItemProcessor (or Iterator) or a Parallel's branches, at any depth."""
    machines = [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]
    for machine in machines:
        if isinstance(machine, dict):
            for name, inner in (machine.get("States") or {}).items():
                if isinstance(inner, dict):
                    yield name, inner
                    yield from _states_within(inner)


def _find_state(definition: dict[str, Any], state_name: str) -> dict[str, Any]:
    for name, state in (definition.get("States") or {}).items():
        if name == state_name:
            return dict(state)
        for inner_name, inner in _states_within(state):
            if inner_name == state_name:
                return dict(inner)
    raise TestStateRequestError(VALIDATION, "State not found in definition")


def _mock(request: dict[str, Any], state_type: str, reveal_secrets: bool) -> tuple[Mock | None, str]:
    """The mock, and its field validation mode."""
    mock = request.get("mock")
    if mock is None:
        return None, mock_validation.NONE
    if not isinstance(mock, dict):
        raise TestStateRequestError(VALIDATION, "'mock' must be an object with 'result' or 'errorOutput'")
    has_result, error_output = "result" in mock, mock.get("errorOutput")
    if has_result == (error_output is not None):
        raise TestStateRequestError(
            VALIDATION, "A test mock should have only one of the following fields: [result, errorOutput]."
        )
    if state_type not in _MOCKABLE:
        raise TestStateRequestError(
            VALIDATION, f"State type '{state_type}' is not supported when a mock is specified"
        )
    if reveal_secrets:
        raise TestStateRequestError(
            VALIDATION, "TestState does not support RevealSecrets when a mock is specified."
        )
    mode = mock.get("fieldValidationMode", mock_validation.STRICT)
    if mode not in mock_validation.MODES:
        raise TestStateRequestError(
            VALIDATION,
            f"'mock.fieldValidationMode' must be one of {', '.join(mock_validation.MODES)}, not {mode!r}",
        )
    if error_output is not None:
        if not isinstance(error_output, dict) or not isinstance(error_output.get("error"), str):
            raise TestStateRequestError(
                VALIDATION, "'mock.errorOutput.error' is required when errorOutput is given"
            )
        cause = error_output.get("cause")
        return Mock(error=error_output["error"], cause=cause if isinstance(cause, str) else None), mode
    if not isinstance(mock["result"], str):
        raise TestStateRequestError(VALIDATION, "'mock.result' must be a string holding JSON")
    try:
        result = json.loads(mock["result"])
    except json.JSONDecodeError as exc:
        raise TestStateRequestError(VALIDATION, f"'mock.result' is not valid JSON: {exc}") from exc
    return Mock(result=result, has_result=True), mode


def _configuration(request: dict[str, Any]) -> StateConfiguration:
    raw = request.get("stateConfiguration") or {}
    if not isinstance(raw, dict):
        raise TestStateRequestError(VALIDATION, "'stateConfiguration' must be an object")
    counts = {}
    for name in ("retrierRetryCount", "mapIterationFailureCount"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise TestStateRequestError(VALIDATION, f"'stateConfiguration.{name}' must be an integer >= 0")
        counts[name] = value
    reader_data = _json_field(raw, "mapItemReaderData", None)
    caused_by = raw.get("errorCausedByState")
    if caused_by is not None and not isinstance(caused_by, str):
        raise TestStateRequestError(
            VALIDATION, "'stateConfiguration.errorCausedByState' must be a state name"
        )
    return StateConfiguration(
        retrier_retry_count=counts["retrierRetryCount"] or 0,
        error_caused_by_state=caused_by,
        map_iteration_failure_count=counts["mapIterationFailureCount"],
        map_item_reader_data=reader_data,
    )


def _state_to_test(definition: dict[str, Any], state_name: Any) -> tuple[str, dict[str, Any]]:
    """The tested state and its name: the definition itself, or ``stateName`` of a state machine."""
    if "States" in definition:
        if state_name is None:
            state_name = definition.get("StartAt")
        if not isinstance(state_name, str) or not state_name:
            raise TestStateRequestError(VALIDATION, "'stateName' names the state to test in a state machine")
        state = _find_state(definition, state_name)
        if "QueryLanguage" in definition and "QueryLanguage" not in state:
            state["QueryLanguage"] = definition["QueryLanguage"]
    else:
        if state_name is not None:
            raise TestStateRequestError(
                VALIDATION, "'stateName' is only used with a whole state machine definition"
            )
        state, state_name = definition, "TestState"
    return state_name, state


def parse_request(request: dict[str, Any], *, account: str) -> tuple[TestStateRequest, str]:
    """Check a TestState request; returns it with the mock's field validation mode."""
    text = request.get("definition")
    if not isinstance(text, str) or not text:
        raise TestStateRequestError(
            VALIDATION, "'definition' is required: the state, or a state machine with stateName"
        )
    try:
        definition = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TestStateRequestError(INVALID_DEFINITION, f"'definition' is not valid JSON: {exc}") from exc
    if not isinstance(definition, dict):
        raise TestStateRequestError(INVALID_DEFINITION, "'definition' must be a JSON object")
    state_name, state = _state_to_test(definition, request.get("stateName"))
    state_type = state.get("Type")
    if not isinstance(state_type, str):
        raise TestStateRequestError(INVALID_DEFINITION, "The state has no 'Type'")
    level = request.get("inspectionLevel") or "INFO"
    if level not in INSPECTION_LEVELS:
        raise TestStateRequestError(
            VALIDATION, f"'inspectionLevel' must be one of {', '.join(INSPECTION_LEVELS)}"
        )
    mock, mode = _mock(request, state_type, bool(request.get("revealSecrets")))
    if state_type in ("Map", "Parallel") and mock is None:
        raise TestStateRequestError(
            INVALID_DEFINITION,
            "TestState API does not support Map or Parallel states. "
            f"Supported state types include: [{', '.join(_SUPPORTED)}]",
        )
    configuration = _configuration(request)
    caused_by = configuration.error_caused_by_state
    if caused_by is not None and caused_by not in {name for name, _ in _states_within(state)}:
        raise TestStateRequestError(
            VALIDATION,
            f"'stateConfiguration.errorCausedByState' {caused_by!r} is not a state inside {state_name!r}",
        )
    role_arn = request.get("roleArn") or f"arn:aws:iam::{account}:role/TestStateRole"
    if mock is None and not request.get("roleArn") and state_type == "Task":
        raise TestStateRequestError(
            VALIDATION, "'roleArn' is required when the state is tested without a mock"
        )
    context = _json_field(request, "context", {})
    variables = _json_field(request, "variables", {})
    for name, value in (("context", context), ("variables", variables)):
        if not isinstance(value, dict):
            raise TestStateRequestError(VALIDATION, f"'{name}' must be a JSON object")
    return (
        TestStateRequest(
            state_name=state_name,
            state=state,
            input=_json_field(request, "input", {}),
            role_arn=role_arn,
            inspection_level=level,
            context=context,
            variables=variables,
            mock=mock,
            configuration=configuration,
        ),
        mode,
    )


# -- the evaluation -----------------------------------------------------------------------------------------


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _environment(request: TestStateRequest, *, account: str, region: str) -> Any:
    machine = f"TestStateMachine-{uuid.uuid4().hex[:12]}"
    name = uuid.uuid4().hex
    context = ContextObjectData(  # type: ignore[typeddict-item]  # moto builds it so, with State added later
        Execution=ExecutionData(
            Id=f"arn:aws:states:{region}:{account}:express:{machine}:{name}",
            # A copy: the request's context is merged into it, and must not change the state's input.
            Input=copy.deepcopy(request.input),
            Name=name,
            RoleArn=request.role_arn,
            StartTime=datetime.datetime.now(tz=datetime.UTC).isoformat(),
        ),
        StateMachine=StateMachineData(
            Id=f"arn:aws:states:{region}:{account}:stateMachine:{machine}", Name=machine
        ),
    )
    _merge(context, request.context)
    env = TestStateEnvironment(
        aws_execution_details=AWSExecutionDetails(account=account, region=region, role_arn=request.role_arn),
        execution_type=StateMachineType.STANDARD,
        context=context,
        event_history_context=EventHistoryContext.of_program_start(),
        activity_store={},
    )
    env.states.reset(input_value=request.input)
    for variable, value in request.variables.items():
        env.variable_store.set(variable, value)
    return env


def _error_name(error: str) -> Any:
    if error.startswith("States."):
        try:
            return StatesErrorName.from_name(error)
        except ValueError:
            pass
    return CustomErrorName(error) if not error.startswith("States.") else _UnknownStatesError(error)


class _UnknownStatesError(CustomErrorName):
    """A ``States.*`` name moto does not know (moto's custom names refuse the prefix)."""

    def __init__(self, error: str) -> None:  # skips CustomErrorName's check on purpose
        vars(self)["error_name"] = error


def _raise_mocked_error(env: Any, error: str, cause: str | None) -> None:
    details = {"error": error, **({"cause": cause} if cause is not None else {})}
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=_error_name(error),
            event_type="TaskFailed",  # type: ignore[arg-type]
            event_details=EventDetails(taskFailedEventDetails=details),  # type: ignore[typeddict-item]
        )
    )


def _tolerance_exceeded(state: dict[str, Any], failures: int | None, items: int) -> bool:
    if failures is None:
        return False
    count = state.get("ToleratedFailureCount")
    percentage = state.get("ToleratedFailurePercentage")
    if count is None and percentage is None:
        return False
    if isinstance(count, int | float) and failures > count:
        return True
    return isinstance(percentage, int | float) and items > 0 and failures * 100 / items > percentage


def _mocked_execution(test: TestStateRequest, parsed: Any, mode: str) -> Callable[[Any], None]:
    """What replaces the tested state's execution (service call, iterations, branches): the mock."""
    mock = test.mock
    assert mock is not None
    state_type = test.state["Type"]
    shape = None
    if state_type == "Task" and isinstance(parsed, StateTask) and not isinstance(parsed, StateTaskLambda):
        shape = mock_validation.output_shape(parsed.resource.resource_arn)
    if mock.has_result:
        if state_type == "Map" and not isinstance(mock.result, list):
            raise TestStateRequestError(VALIDATION, "Mocked result must be an array.")
        if state_type == "Parallel":
            if not isinstance(mock.result, list):
                raise TestStateRequestError(VALIDATION, "Mocked result must be an array.")
            if len(mock.result) != len(test.state.get("Branches", [])):
                raise TestStateRequestError(
                    VALIDATION,
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                )
        if shape is not None:
            try:
                mock_validation.validate(mock.result, shape, mode)
            except mock_validation.MockValidationError as exc:
                raise TestStateRequestError(VALIDATION, str(exc)) from exc

    def execute(env: Any) -> None:
        if isinstance(parsed, StateTask):
            parsed._eval_parameters(env=env)  # Parameters / Arguments, recorded by the inspection
        if mock.error is not None:
            _raise_mocked_error(env, mock.error, mock.cause)
        failures = test.configuration.map_iteration_failure_count
        if state_type == "Map" and _tolerance_exceeded(test.state, failures, len(mock.result or [])):
            _raise_mocked_error(env, *_TOLERANCE_EXCEEDED)
        result = json.loads(json.dumps(mock.result))
        env.inspection_data["result"] = to_json_str(result)
        env.stack.append(result)

    return execute


def _matches(error_equals: Any, env: Any, error_name: Any) -> bool:
    env.stack.append(error_name)
    error_equals.eval(env)
    return bool(env.stack.pop())


def _install(test: TestStateRequest, state: Any, mode: str, outcome: _Outcome) -> None:
    """Per-instance replacements on this request's freshly parsed state (nothing global changes)."""
    # Typed Any: these are assignments to methods of this one instance, which mypy would refuse.
    parsed: Any = state
    if isinstance(state, StateWait):
        parsed.wait_function._wait_interval = lambda env, wait_seconds: None
    if type(state).__name__ == "StateChoice" and "_eval_body" in vars(state):
        del parsed._eval_body  # moto's TestState parser ends the program here, before the Choice's output
    if not isinstance(state, ExecutionState):
        return
    if isinstance(state, StateTask) and test.state.get("QueryLanguage") == "JSONata":
        own_eval_parameters = parsed._eval_parameters

        def eval_parameters(env: Any) -> Any:
            arguments = own_eval_parameters(env=env)
            env.inspection_data["afterArguments"] = to_json_str(arguments)
            return arguments

        parsed._eval_parameters = eval_parameters
    if test.mock is not None:
        parsed._eval_execution = _mocked_execution(test, parsed, mode)
    elif isinstance(state, callback_task.StateTaskServiceCallback) and state.resource.condition is not None:
        raise TestStateRequestError(
            VALIDATION,
            "A .waitForTaskToken or .sync Task is only tested with a mock (TestState does not wait)",
        )
    elif isinstance(state, StateTaskActivity):
        raise TestStateRequestError(
            VALIDATION, "An Activity Task is only tested with a mock (no worker is asked)"
        )
    own_from_error = parsed._from_error

    def from_error(env: Any, ex: Exception) -> Any:
        if isinstance(ex, FailureEventException):
            return ex.failure_event
        return own_from_error(env=env, ex=ex)

    parsed._from_error = from_error
    retry_count = test.configuration.retrier_retry_count

    def handle_retry(env: Any, failure_event: Any) -> Any:
        for index, retrier in enumerate(parsed.retry.retriers):
            if not _matches(retrier.error_equals, env, failure_event.error_name):
                continue
            outcome.error_details["retryIndex"] = index
            if retry_count >= retrier.max_attempts.attempts:
                return RetryOutcome.CannotRetry
            interval = retrier.interval_seconds.seconds * retrier.backoff_rate.rate**retry_count
            maximum = retrier.max_delay_seconds.max_delays_seconds
            outcome.error_details["retryBackoffIntervalSeconds"] = int(
                min(interval, maximum) if maximum else interval
            )
            details = (
                FailureEventException(failure_event=failure_event).get_execution_failed_event_details() or {}
            )
            outcome.retriable = (details.get("error") or "", details.get("cause") or "")
            # Where AWS's TestState stops: moto's loop would sleep and retry; a stopped program does neither.
            env.set_stop(stop_date=datetime.datetime.now(tz=datetime.UTC), cause=None, error=None)
            return RetryOutcome.CanRetry
        return RetryOutcome.NoRetrier

    parsed._handle_retry = handle_retry
    own_handle_catch = parsed._handle_catch

    def handle_catch(env: Any, failure_event: Any) -> None:
        own_handle_catch(env=env, failure_event=failure_event)
        if env.stack and env.stack[-1] == CatchOutcome.Caught:
            for index, catcher in enumerate(parsed.catch.catchers):
                if _matches(catcher.error_equals, env, failure_event.error_name):
                    outcome.error_details["catchIndex"] = index
                    break
            details = (
                FailureEventException(failure_event=failure_event).get_execution_failed_event_details() or {}
            )
            outcome.caught = (details.get("error") or "", details.get("cause") or "")

    parsed._handle_catch = handle_catch


class _OneStatePreprocessor(TestStatePreprocessor):
    """moto's TestState preprocessor for the tested state only; states nested in it are parsed as usual.

    moto's own turns every state body into a test program, so a Map or Parallel with states inside does not
    parse; they never run here (a Map or Parallel is tested with a mock), but they must parse.
    """

    def __init__(self) -> None:
        super().__init__()
        self.nesting = 0

    def visitState_decl_body(self, ctx: Any) -> Any:  # noqa: N802 - moto's visitor method name
        self.nesting += 1
        try:
            if self.nesting == 1:
                return super().visitState_decl_body(ctx)
            return Preprocessor.visitState_decl_body(self, ctx)
        finally:
            self.nesting -= 1


@functools.lru_cache(maxsize=256)
def _syntax_tree(text: str) -> tuple[Any, tuple[Any, ...]]:
    """The ANTLR parse of a state's JSON, with its syntax errors. The parse is most of a request's CPU and
    a test suite sends the same states again and again; the tree is only read, and every request builds
    its own state from it (the preprocessor), so requests share nothing they change."""
    errors = SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(text))))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    return parser.state_decl_body(), tuple(errors.errors)


def _parse_state(test: TestStateRequest) -> Any:
    """The tested state, parsed as moto's ``TestStateAmazonStateLanguageParser.parse`` does."""
    tree, errors = _syntax_tree(json.dumps(test.state))
    try:
        if errors:
            raise ASLParserException(errors=list(errors))
        program = _OneStatePreprocessor().visit(tree)
    except ASLParserException as exc:
        raise TestStateRequestError(INVALID_DEFINITION, f"Invalid State Machine Definition: {exc}") from exc
    except (ValueError, RuntimeError, TypeError, KeyError) as exc:
        raise TestStateRequestError(INVALID_DEFINITION, f"Invalid State Machine Definition: {exc}") from exc
    parsed: Any = program
    state = parsed.test_state
    state.name = test.state_name
    return state


_ORDER = ("input", "afterInputPath", "afterParameters", "result", "afterResultSelector", "afterResultPath")
_JSONATA_ORDER = ("input", "afterArguments", "result")
_ITERATING_ORDER = (
    "input",
    "afterInputPath",
    "result",
    "afterResultSelector",
    "afterResultPath",
)  # Map, Parallel
# What a Map reports of its configuration, as declared (AWS reports maxConcurrency 0 when undeclared).
_MAP_SETTINGS = (
    ("maxConcurrency", "MaxConcurrency", 0),
    ("toleratedFailureCount", "ToleratedFailureCount", None),
    ("toleratedFailurePercentage", "ToleratedFailurePercentage", None),
)


# A step that the state does not declare passes its input on unchanged (InputPath "$", no Parameters...).
_DATA_STATES = frozenset({"Task", "Pass", "Map", "Parallel"})


def _inspection(env: Any, outcome: _Outcome, test: TestStateRequest, *, completed: bool) -> dict[str, Any]:
    recorded = dict(env.inspection_data)
    if test.state["Type"] in _DATA_STATES and test.state.get("QueryLanguage") != "JSONata":
        steps = _ORDER if test.state["Type"] in ("Task", "Pass") else _ITERATING_ORDER
        reached = steps if completed else steps[:3]
        for previous, key in itertools.pairwise(reached):
            if key not in recorded and previous in recorded:
                recorded[key] = recorded[previous]
    data: dict[str, Any] = {key: recorded[key] for key in (*_ORDER, *_JSONATA_ORDER) if key in recorded}
    if test.state["Type"] == "Map":
        for key, declared, default in _MAP_SETTINGS:
            value = test.state.get(declared, default)
            if isinstance(value, int | float) and not isinstance(value, bool):
                data[key] = value
    if outcome.error_details:
        data["errorDetails"] = dict(outcome.error_details)
    if test.variables or any(True for _ in _assigned(env)):
        data["variables"] = to_json_str(dict(_assigned(env)))
    return data


def _assigned(env: Any) -> Iterable[tuple[str, Any]]:
    store = env.variable_store
    scope = getattr(store, "_inner_scope", {})
    return scope.items()


def run_test_state(request: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """Answer one TestState request (the decoded JSON body); raises ``TestStateRequestError`` to refuse it."""
    test, mode = parse_request(request, account=account)
    parsed = _parse_state(test)
    outcome = _Outcome()
    _install(test, parsed, mode, outcome)
    env = _environment(test, account=account, region=region)
    env.inspection_data["input"] = to_json_str(test.input)
    env.next_state_name = parsed.name
    response: dict[str, Any] = {}
    try:
        parsed.eval(env)
    except FailureEventException as failure:
        details = failure.get_execution_failed_event_details() or {}
        response.update(status="FAILED", error=details.get("error", ""), cause=details.get("cause", ""))
    except Exception as exc:  # what moto's interpreter cannot evaluate fails the state, as its executions do
        error, cause = "States.Runtime", f"{type(exc).__name__}: {exc}"
        if isinstance(exc, RuntimeError) and "No branching option" in str(exc):  # moto's Choice, no match
            error, cause = (
                _NO_CHOICE,
                f"No Choice rule matched and there is no Default in {test.state_name!r}",
            )
        elif isinstance(exc, TypeError) and registry.resolve(_JSONATA_EVALUATOR) is None:
            cause = _NO_JSONATA
        response.update(status="FAILED", error=error, cause=cause)
    else:
        output = to_json_str(env.states.get_input())
        if outcome.retriable is not None:
            error, cause = outcome.retriable
            response.update(status="RETRIABLE", error=error, cause=cause)
        elif outcome.caught is not None:
            error, cause = outcome.caught
            response.update(status="CAUGHT_ERROR", error=error, cause=cause, output=output)
        else:
            response.update(status="SUCCEEDED", output=output)
        if env.is_running() and (outcome.caught is not None or env.next_state_name != parsed.name):
            response["nextState"] = env.next_state_name
    if response.get("cause") is None or response.get("cause") == "":
        response.pop("cause", None)
    if test.inspection_level != "INFO":
        completed = response["status"] in ("SUCCEEDED", "CAUGHT_ERROR") and outcome.caught is None
        response["inspectionData"] = _inspection(env, outcome, test, completed=completed)
    return response


# -- the route in the endpoint ------------------------------------------------------------------------------

TARGET = "AWSStepFunctions.TestState"
_CONTENT_TYPE = "application/x-amz-json-1.0"


class TestStateRoute:
    """WSGI middleware: TestState calls are answered here, everything else by the wrapped application.

    moto has no TestState action, so its dispatcher would answer with an error. botocore sends TestState to
    the host prefix ``sync-``; with ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (or
    ``Config(inject_host_prefix=False)``) it reaches this endpoint unchanged.
    """

    __test__ = False

    def __init__(self, app: Callable[..., Iterable[bytes]], *, account: str, region: str) -> None:
        self.app = app
        self.account = account
        self.region = region

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("HTTP_X_AMZ_TARGET") != TARGET:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
        region = _region_of(environ.get("HTTP_AUTHORIZATION", "")) or self.region
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise TestStateRequestError(VALIDATION, "the request body must be a JSON object")
            answer, status = run_test_state(request, account=self.account, region=region), "200 OK"
        except json.JSONDecodeError as exc:
            answer, status = {"__type": "SerializationException", "message": str(exc)}, "400 Bad Request"
        except TestStateRequestError as exc:
            answer, status = {"__type": exc.code, "message": exc.message}, "400 Bad Request"
        payload = json.dumps(answer).encode()
        start_response(status, [("Content-Type", _CONTENT_TYPE), ("Content-Length", str(len(payload)))])
        return [payload]


def _region_of(authorization: str) -> str | None:
    """The region of a SigV4 ``Credential=<key>/<date>/<region>/states/aws4_request``."""
    _, _, credential = authorization.partition("Credential=")
    parts = credential.split(",")[0].split("/")
    return parts[2] if len(parts) >= 5 else None
