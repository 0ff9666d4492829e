"""Speed-ups of moto's Step Functions (its ASL interpreter and the clients its tasks call with).

* ``parsed_program`` -- moto runs the ANTLR parser and the preprocessor on the definition at every
  StartExecution (milliseconds for five states, tens of ms for the order workflow). We keep the parse result
  per definition string. Safe because moto already shares one component tree between the concurrent
  iterations of a Map and the branches of a Parallel: evaluation state lives in the ``Environment`` (stack,
  heap, frames, callback pool, map-run records), not in components. The one lazily mutated field is
  ``EvalComponent.heap_key`` (the key under which a Retrier keeps its attempt counter in ``env.heap``); it
  is assigned on first use, which races when two executions touch a shared component first at the same
  time, so we assign every key once, before the tree is shared.
* ``start_snapshot`` -- StartExecution deep-copies the state machine (with its versions and aliases) to
  snapshot the definition. Every field an execution reads is replaced, never mutated, by UpdateStateMachine,
  so a shallow copy is the same snapshot. The replacement also gives an unnamed execution a generated name
  (stock moto names it ``None``, so the second unnamed StartExecution fails with ExecutionAlreadyExists).
* ``client_cache`` -- every Task state builds a new boto3 client (about 2 ms each, and not thread-safe
  through boto3's default session). We keep one per (region, service, endpoint); botocore clients are
  thread-safe.
* ``direct_dispatch`` -- a task's call to DynamoDB, SQS, SNS, Kinesis, EventBridge or Lambda skips botocore's
  client machinery and moto's stubber (``localaws.patches.direct_dispatch``), with the same answers and
  errors. It acts inside ``client_cache``'s replacement, so it needs that set installed too.
* ``jsonpath_cache`` -- every JSONPath evaluation rebuilds a ply parser and re-parses the path. Parsed
  ``jsonpath_ng`` expressions are immutable, so we keep them per path string.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import threading
from typing import Any

from moto import settings as moto_settings
from moto.core.models import botocore_stubber
from moto.moto_api._internal import mock_random
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import InvalidExecutionInput
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

from localaws.patches import direct_dispatch, registry
from localaws.patches.speedups.cache import LruCache

_PARSE = "moto.stepfunctions.parser.asl.parse.asl_parser.AmazonStateLanguageParser.parse"
_START = "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution"
_TMP_THREADS = "moto.stepfunctions.parser.utils.TMP_THREADS"
_BOTO_CLIENT_FOR = "moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for"
# Each Task integration imports boto_client_for by name, so each module's binding is replaced.
_BOTO_CLIENT_USERS: tuple[str, ...] = tuple(
    f"moto.stepfunctions.parser.asl.component.state.{module}.boto_client_for"
    for module in (
        "exec.state_map.result_writer.resource_eval.resource_eval_s3",
        "exec.state_map.item_reader.eval.resource_eval_s3",
        "exec.state_task.lambda_eval_utils",
        "exec.state_task.service.state_task_service_unsupported",
        "exec.state_task.service.state_task_service_glue",
        "exec.state_task.service.state_task_service_events",
        "exec.state_task.service.state_task_service_ecs",
        "exec.state_task.service.state_task_service_sqs",
        "exec.state_task.service.state_task_service_sfn",
        "exec.state_task.service.state_task_service_dynamodb",
        "exec.state_task.service.state_task_service_batch",
        "exec.state_task.service.state_task_service_sns",
        "exec.state_task.service.state_task_service_aws_sdk",
    )
)
_JSONPATH_EXT_PARSE = "moto.stepfunctions.parser.asl.utils.json_path.parse"
_JSONPATH_RESULT_PATH_PARSE = "moto.stepfunctions.parser.asl.component.common.path.result_path.parse"

# Enough for every definition a test suite deploys; each entry is one parsed program.
_PARSED_PROGRAMS_MAX = 256
_JSONPATHS_MAX = 4096
# One client per region and service, with room for a few endpoints.
_CLIENTS_MAX = 64
# Finished worker threads stay in moto's TMP_THREADS list forever; prune it past this size.
_TMP_THREADS_PRUNE_AT = 2048

programs = LruCache(_PARSED_PROGRAMS_MAX)
clients = LruCache(_CLIENTS_MAX)
direct_clients = LruCache(_CLIENTS_MAX)
ext_jsonpaths = LruCache(_JSONPATHS_MAX)
plain_jsonpaths = LruCache(_JSONPATHS_MAX)


# --- parsed_program -----------------------------------------------------------------------------------


def _assign_heap_keys(root: Any) -> int:
    """Give every EvalComponent reachable from ``root`` its heap key now, while one thread owns the tree."""
    seen: set[int] = set()
    pending: list[Any] = [root]
    assigned = 0
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list | tuple | set | frozenset):
            pending.extend(node)
        elif isinstance(node, Component):
            if isinstance(node, EvalComponent):
                _ = node.heap_key
                assigned += 1
            pending.extend(getattr(node, "__dict__", {}).values())
    return assigned


def _cached_parse(definition: str) -> tuple[Any, Any]:
    def parse_and_freeze() -> tuple[Any, Any]:
        program, tree = registry.original(_PARSE)(definition)
        _assign_heap_keys(program)
        return program, tree

    result: tuple[Any, Any] = programs.get_or_create(definition, parse_and_freeze)
    return result


# --- start_snapshot -----------------------------------------------------------------------------------


def _snapshot_state_machine(state_machine: Any) -> Any:
    """What stock moto's deepcopy gives an execution: its fields are replaced on update, never mutated."""
    snapshot = copy.copy(state_machine)
    snapshot.executions = []
    return snapshot


class _ThreadList:
    """moto's TMP_THREADS, resolved once (resolving imports: far too slow per StartExecution), and when to
    prune it next: past twice what was alive after the last pruning, so that a burst with many executions in
    flight is not scanned on every start (each scan is amortised over as many starts as it keeps threads)."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] | None = None
        self._lock = threading.Lock()
        self.prune_at = _TMP_THREADS_PRUNE_AT

    def prune(self) -> None:
        threads = self._threads
        if threads is None:
            threads = self._threads = registry.resolve(_TMP_THREADS)
        if len(threads) <= self.prune_at or not self._lock.acquire(blocking=False):
            return
        try:
            threads[:] = [thread for thread in threads if thread.is_alive()]
            self.prune_at = max(_TMP_THREADS_PRUNE_AT, 2 * len(threads))
        finally:
            self._lock.release()

    def reset(self) -> None:
        with self._lock:
            self._threads = None
            self.prune_at = _TMP_THREADS_PRUNE_AT


tmp_threads = _ThreadList()


def _prune_finished_threads() -> None:
    tmp_threads.prune()


def _execution_input(execution_input: str | None) -> str:
    if execution_input is None:
        return "{}"
    try:
        json.loads(execution_input)
    except Exception as ex:
        raise InvalidExecutionInput(str(ex)) from ex
    return execution_input


def _start_execution(
    self: Any,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    """moto's StepFunctionsParserBackend.start_execution, with a shallow snapshot and a generated name."""
    if name:
        self._validate_name(name)
    else:
        name = str(mock_random.uuid4())
    state_machine = self.describe_state_machine(state_machine_arn)
    existing_execution = state_machine._handle_name_input_idempotency(name, execution_input)
    if existing_execution is not None:
        return existing_execution

    snapshot = _snapshot_state_machine(state_machine)
    input_data = _execution_input(execution_input)
    execution_arn = ":".join(
        (
            "arn",
            self.partition,
            "states",
            self.region_name,
            self.account_id,
            "execution",
            state_machine.name,
            name,
        )
    )
    # Built by the name moto's own start_execution uses, so a hook on it (MockConfigFile) sees both.
    execution = parser_models.Execution(
        name=name,
        sm_type=snapshot.sm_type,
        role_arn=snapshot.roleArn,
        exec_arn=execution_arn,
        account_id=self.account_id,
        region_name=self.region_name,
        state_machine=snapshot,
        start_date=datetime.datetime.now(tz=datetime.UTC),
        cloud_watch_logging_session=None,
        input_data=input_data,
        trace_header=trace_header,
        activity_store={},
    )
    _prune_finished_threads()
    execution.start()
    # Listed only once started: before start() its status is None, and SendTask* scans every listed execution.
    state_machine.executions.append(execution)
    return execution


# --- client_cache and direct_dispatch -------------------------------------------------------------------


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """One client per (region, service, endpoint); the endpoint logic is moto's own."""
    intercepting = botocore_stubber.enabled
    endpoint = None if intercepting else f"http://localhost:{moto_settings.moto_server_port()}"
    # boto3 falls back to these when no endpoint is given; a change must give a new client, as stock does.
    env_endpoint = (
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"),
    )
    key = (region, service, endpoint, env_endpoint)
    client = clients.get_or_create(
        key, lambda: registry.original(_BOTO_CLIENT_FOR)(region, service, state_credentials)
    )
    if intercepting and DIRECT_DISPATCH.installed:
        return direct_clients.get_or_create(key, lambda: direct_dispatch.DirectClient(client))
    return client


# --- jsonpath_cache -----------------------------------------------------------------------------------


def _cached_ext_jsonpath(path: str) -> Any:
    return ext_jsonpaths.get_or_create(path, lambda: registry.original(_JSONPATH_EXT_PARSE)(path))


def _cached_plain_jsonpath(path: str) -> Any:
    return plain_jsonpaths.get_or_create(path, lambda: registry.original(_JSONPATH_RESULT_PATH_PARSE)(path))


PARSED_PROGRAM = registry.PatchSet(
    "parsed_program",
    [registry.Patch(_PARSE, staticmethod(_cached_parse), "reuse a definition's parsed program")],
    reads=[
        (
            "moto.stepfunctions.parser.asl.component.eval_component.EvalComponent.heap_key",
            "assigned once per cached program so concurrent executions agree on it",
        ),
        (
            "moto.stepfunctions.parser.asl.component.eval_component.EvalComponent",
            "heap keys of cached programs",
        ),
        ("moto.stepfunctions.parser.asl.component.component.Component", "walk cached programs"),
    ],
)
START_SNAPSHOT = registry.PatchSet(
    "start_snapshot",
    [registry.Patch(_START, _start_execution, "shallow snapshot, not deepcopy; name unnamed runs")],
    reads=[
        (_TMP_THREADS, "pruned of finished threads (moto never empties it)"),
        *(
            (used_by_start, "called by our StartExecution exactly as moto's own does")
            for used_by_start in (
                "moto.stepfunctions.models.StateMachine._handle_name_input_idempotency",
                "moto.stepfunctions.models.StepFunctionBackend._validate_name",
                "moto.stepfunctions.parser.models",
                "moto.stepfunctions.parser.models.Execution",
                "moto.stepfunctions.parser.api.InvalidExecutionInput",
                "moto.moto_api._internal.mock_random",
                "moto.moto_api._internal.mock_random.uuid4",
            )
        ),
    ],
)
CLIENT_CACHE = registry.PatchSet(
    "client_cache",
    [
        registry.Patch(
            path, _cached_boto_client_for, "one boto3 client per region/service/endpoint, not per task"
        )
        for path in (_BOTO_CLIENT_FOR, *_BOTO_CLIENT_USERS)
    ],
    reads=[
        (
            "moto.core.models.botocore_stubber",
            "whether task calls are intercepted in-process (selects the endpoint)",
        ),
        ("moto.core.models.botocore_stubber.enabled", "moto intercepts in-process calls"),
        ("moto.settings", "moto's settings module"),
        ("moto.settings.moto_server_port", "the endpoint of a task's client when nothing intercepts it"),
    ],
)
# Replaces nothing of moto's: ``_cached_boto_client_for`` hands out direct clients while this set is in.
DIRECT_DISPATCH = registry.PatchSet("direct_dispatch")
JSONPATH_CACHE = registry.PatchSet(
    "jsonpath_cache",
    [
        registry.Patch(_JSONPATH_EXT_PARSE, _cached_ext_jsonpath, "parse each JSONPath once (ext parser)"),
        registry.Patch(_JSONPATH_RESULT_PATH_PARSE, _cached_plain_jsonpath, "parse each ResultPath once"),
    ],
)
CACHES = {
    "parsed_program": programs,
    "client_cache": clients,
    "direct_clients": direct_clients,
    "jsonpath_ext": ext_jsonpaths,
    "jsonpath_plain": plain_jsonpaths,
}
