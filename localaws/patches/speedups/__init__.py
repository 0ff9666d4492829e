"""Speed-ups for moto's Step Functions (ASL) interpreter, applied in-process by ``install()``.

Stock moto 5.2.5 re-does, for every execution, work whose result never changes between executions:

* ``parsed_program`` -- it runs the ANTLR parser and the preprocessor on the definition at every
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
* ``jsonpath_cache`` -- every JSONPath evaluation rebuilds a ply parser and re-parses the path. Parsed
  ``jsonpath_ng`` expressions are immutable, so we keep them per path string.
* ``http_dispatch`` -- moto's HTTP server lists its package directory and tries every backend's URL regexes
  for each request; both answers are fixed for the life of the process.
* ``direct_dispatch`` -- a task's call to DynamoDB, SQS, SNS, Kinesis, EventBridge or Lambda skips botocore's
  client machinery and moto's stubber (``localaws.patches.direct_dispatch``), with the same answers and errors.
* ``action_lookup`` -- every moto API call lists its handler class's methods with ``inspect.getmembers``
  (about 0.1 ms) to check the action exists; the list changes only when a method is added to the class.
* ``sqs_queue_attributes`` -- moto builds every queue attribute (three scans of the queue, two clock reads
  per message) whenever it reads one, e.g. ContentBasedDeduplication on each SendMessage; we count the
  messages in one scan with one clock read. Same dict, same values.
* ``dynamodb_transactions`` -- ``TransactWriteItems`` deep-copies every table it touches, once per item, so
  that it can roll back; its cost grows with the table (the inventory and idempotency tables grow with every
  order). We keep a copy of each item the transaction touches instead and put those back on failure: same
  checks, same errors, same state after a cancelled transaction. Tables with a stream keep moto's own code.
* ``event_input_paths`` -- EventBridge builds every target's input with ``jsonpath_ng``, parsing each input
  path (eight of them by default) for every event; we parse each path once (``jsonpath_cache``'s reasoning).
* ``sns_signing`` -- every SNS message delivered as an envelope (an SQS subscription without raw delivery,
  e.g. the console's) made moto build and sign a new X.509 certificate and keep its PEM forever: three RSA
  operations per delivery. We make one certificate per subscription key (as AWS signs with one certificate
  for a long time) and still sign every message; the envelope has the same fields and a valid signature.

``install()`` is idempotent; ``uninstall()`` restores moto's own code. Every moto internal touched is
registered in ``localaws.patches.registry``.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from localaws.patches import direct_dispatch, registry

PATCH_NAMES: tuple[str, ...] = (
    "parsed_program",
    "start_snapshot",
    "client_cache",
    "jsonpath_cache",
    "http_dispatch",
    "direct_dispatch",
    "action_lookup",
    "sqs_queue_attributes",
    "dynamodb_transactions",
    "event_input_paths",
    "sns_signing",
)

_PARSE = "moto.stepfunctions.parser.asl.parse.asl_parser.AmazonStateLanguageParser.parse"
_START = "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution"
_HEAP_KEY = "moto.stepfunctions.parser.asl.component.eval_component.EvalComponent.heap_key"
_EVAL_COMPONENT = "moto.stepfunctions.parser.asl.component.eval_component.EvalComponent"
_COMPONENT = "moto.stepfunctions.parser.asl.component.component.Component"
_TMP_THREADS = "moto.stepfunctions.parser.utils.TMP_THREADS"
_BOTO_CLIENT_FOR = "moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for"
_STUBBER = "moto.core.models.botocore_stubber"
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

_MOTO_MODULES = "moto.backends.list_of_moto_modules"
_BACKEND_FOR_HOST = "moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host"
_METHOD_NAMES = "moto.core.responses.method_names_from_class"
_QUEUE_ATTRIBUTES = "moto.sqs.models.Queue.attributes"
_TRANSACT_WRITE = "moto.dynamodb.models.DynamoDBBackend.transact_write_items"
_EVENT_TEMPLATE_PARSE = "moto.events.utils.EventTemplateParser.parse"
_SNS_POST_DATA = "moto.sns.models.Subscription.get_post_data"
# moto's staticmethods: resolve() hands moto_patches the bare function, so uninstall re-wraps it.
_STATICMETHODS = frozenset({_PARSE, _EVENT_TEMPLATE_PARSE})
_SQS_CLOCK = "moto.sqs.models.unix_time_millis"

_PARSED_PROGRAMS_MAX = 256
_JSONPATHS_MAX = 4096
# Finished worker threads stay in moto's TMP_THREADS list forever; prune it past this size.
_TMP_THREADS_PRUNE_AT = 2048

_lock = threading.RLock()
_installed: set[str] = set()


@dataclass
class CacheStats:
    """Hit/miss counters, so tests and the benchmark can see a cache is really used."""

    hits: int = 0
    misses: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _LruCache:
    """A small thread-safe LRU map. Values are created one at a time: a burst of executions starting together
    must not build the same boto3 client (or parse the same definition) once per execution."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self.stats = CacheStats()

    def _lookup(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.stats.hits += 1
                return True, self._items[key]
        return False, None

    def get_or_create(self, key: Any, create: Callable[[], Any]) -> Any:
        found, value = self._lookup(key)
        if found:
            return value
        with self._create_lock:
            found, value = self._lookup(key)
            if found:
                return value
            value = create()
            with self._lock:
                self.stats.misses += 1
                self._items[key] = value
                while len(self._items) > self._maxsize:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.stats = CacheStats()


_programs = _LruCache(_PARSED_PROGRAMS_MAX)
_clients = _LruCache(64)
_ext_jsonpaths = _LruCache(_JSONPATHS_MAX)
_plain_jsonpaths = _LruCache(_JSONPATHS_MAX)
_hosts = _LruCache(1024)
_direct_clients = _LruCache(64)
_event_jsonpaths = _LruCache(_JSONPATHS_MAX)


def stats() -> dict[str, dict[str, int]]:
    """Hits and misses of each cache since install (or the last ``clear_caches``)."""
    return {
        name: {"hits": cache.stats.hits, "misses": cache.stats.misses}
        for name, cache in (
            ("parsed_program", _programs),
            ("client_cache", _clients),
            ("jsonpath_ext", _ext_jsonpaths),
            ("jsonpath_plain", _plain_jsonpaths),
            ("http_dispatch_hosts", _hosts),
        )
    }


def clear_caches() -> None:
    for cache in (
        _programs,
        _clients,
        _ext_jsonpaths,
        _plain_jsonpaths,
        _hosts,
        _direct_clients,
        _event_jsonpaths,
    ):
        cache.clear()
    with _method_names_lock:
        _method_names.clear()
    with _signing_lock:
        _signing_certificates.clear()
    direct_dispatch.clear_routes()
    direct_dispatch.stats.reset()


# --- parsed_program -----------------------------------------------------------------------------------


def _assign_heap_keys(root: Any) -> int:
    """Give every EvalComponent reachable from ``root`` its heap key now, while one thread owns the tree."""
    eval_component = registry.resolve("moto.stepfunctions.parser.asl.component.eval_component.EvalComponent")
    component = registry.resolve(_COMPONENT)
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
        elif isinstance(node, component):
            if isinstance(node, eval_component):
                _ = node.heap_key
                assigned += 1
            pending.extend(getattr(node, "__dict__", {}).values())
    return assigned


def _cached_parse(definition: str) -> tuple[Any, Any]:
    def parse_and_freeze() -> tuple[Any, Any]:
        program, tree = registry.original(_PARSE)(definition)
        _assign_heap_keys(program)
        return program, tree

    result: tuple[Any, Any] = _programs.get_or_create(definition, parse_and_freeze)
    return result


# --- start_snapshot -----------------------------------------------------------------------------------


def _snapshot_state_machine(state_machine: Any) -> Any:
    """What stock moto's deepcopy gives an execution: its fields are replaced on update, never mutated."""
    snapshot = copy.copy(state_machine)
    snapshot.executions = []
    return snapshot


def _prune_finished_threads() -> None:
    threads: list[threading.Thread] = registry.resolve(_TMP_THREADS)
    if len(threads) > _TMP_THREADS_PRUNE_AT:
        threads[:] = [thread for thread in threads if thread.is_alive()]


def _start_execution(
    self: Any,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    """moto's StepFunctionsParserBackend.start_execution, with a shallow snapshot and a generated name."""
    from moto.moto_api._internal import mock_random
    from moto.stepfunctions.parser.api import InvalidExecutionInput

    from localaws.stepfunctions import mock_config

    # MockConfigFile (localaws.stepfunctions.mock_config): `<stateMachineArn>#<TestCase>` runs that test case's mocks.
    state_machine_arn, test_case_name = mock_config.split_test_case_arn(state_machine_arn)
    if name:
        self._validate_name(name)
    else:
        name = str(mock_random.uuid4())
    state_machine = self.describe_state_machine(state_machine_arn)
    mocks = mock_config.test_case_for(state_machine, test_case_name)  # None without a test case
    existing_execution = state_machine._handle_name_input_idempotency(name, execution_input)
    if existing_execution is not None:
        return existing_execution

    snapshot = _snapshot_state_machine(state_machine)
    if execution_input is None:
        input_data = "{}"
    else:
        input_data = execution_input
        try:
            json.loads(execution_input)
        except Exception as ex:
            raise InvalidExecutionInput(str(ex)) from ex

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
    execution = mock_config.execution_type(mocks)(
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


# --- client_cache -------------------------------------------------------------------------------------


_stubber: Any = None


def _botocore_stubber() -> Any:
    # One object for the life of the process (mock_aws toggles its ``enabled``); resolving its dotted path
    # costs a failed module import, about half a millisecond, which every task call used to pay.
    global _stubber  # noqa: PLW0603
    if _stubber is None:
        _stubber = registry.resolve(_STUBBER)
    return _stubber


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """One client per (region, service, endpoint); the endpoint logic is moto's own."""
    from moto.settings import moto_server_port

    intercepting = _botocore_stubber().enabled
    endpoint = None if intercepting else f"http://localhost:{moto_server_port()}"
    # boto3 falls back to these when no endpoint is given; a change must give a new client, as stock does.
    env_endpoint = (
        os.environ.get("AWS_ENDPOINT_URL"),
        os.environ.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"),
    )
    key = (region, service, endpoint, env_endpoint)
    client = _clients.get_or_create(
        key, lambda: registry.original(_BOTO_CLIENT_FOR)(region, service, state_credentials)
    )
    if intercepting and "direct_dispatch" in _installed:
        return _direct_clients.get_or_create(key, lambda: direct_dispatch.DirectClient(client))
    return client


# --- jsonpath_cache -----------------------------------------------------------------------------------


def _cached_ext_jsonpath(path: str) -> Any:
    return _ext_jsonpaths.get_or_create(path, lambda: registry.original(_JSONPATH_EXT_PARSE)(path))


def _cached_plain_jsonpath(path: str) -> Any:
    return _plain_jsonpaths.get_or_create(path, lambda: registry.original(_JSONPATH_RESULT_PATH_PARSE)(path))


# --- http_dispatch ------------------------------------------------------------------------------------
# moto's HTTP server maps every request's Host to a backend by listing moto's package directory (one stat per
# entry) and then trying each backend's URL regexes. Both answers are fixed for the life of the process.

_moto_modules: tuple[str, ...] | None = None


def _cached_moto_modules() -> tuple[str, ...]:
    global _moto_modules  # noqa: PLW0603 - computed once per process
    if _moto_modules is None:
        _moto_modules = tuple(registry.original(_MOTO_MODULES)())
    return _moto_modules


def _cached_backend_for_host(self: Any, host: str | None) -> Any:
    if host is None:
        return None
    return _hosts.get_or_create(host, lambda: registry.original(_BACKEND_FOR_HOST)(self, host))


# --- action_lookup ------------------------------------------------------------------------------------

_method_names: dict[type, tuple[tuple[int, ...], list[str]]] = {}
_method_names_lock = threading.Lock()


def _cached_method_names(clazz: Any) -> list[str]:
    """moto's ``method_names_from_class`` (the function names of a response class), listed once per class.

    Keyed on the size of each class's namespace along the MRO: a method added anywhere (a patch adding a new
    action) lists again; a method replaced in place keeps the same names.
    """
    fingerprint = tuple(len(vars(klass)) for klass in getattr(clazz, "__mro__", (clazz,)))
    with _method_names_lock:
        cached = _method_names.get(clazz)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    names: list[str] = registry.original(_METHOD_NAMES)(clazz)
    with _method_names_lock:
        _method_names[clazz] = (fingerprint, names)
    return names


# --- sqs_queue_attributes ------------------------------------------------------------------------------

_COUNTED_ATTRIBUTES = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    }
)
_attribute_fields: dict[str, str] = {}


def _attribute_field(attribute: str) -> str:
    field_name = _attribute_fields.get(attribute)
    if field_name is None:
        from moto.core.utils import camelcase_to_underscores

        field_name = _attribute_fields[attribute] = camelcase_to_underscores(attribute)
    return field_name


def _message_counts(queue: Any) -> dict[str, int]:
    """The three approximate counts in one pass, with moto's definitions of visible and delayed."""
    from moto.sqs import models as sqs_models

    now = sqs_models.unix_time_millis()  # looked up per call: the SQS event source may swap moto's clock
    available = delayed = not_visible = 0
    for message in list(queue._messages):
        is_visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        delayed += is_delayed
        not_visible += not is_visible
        available += is_visible and not is_delayed
    return {
        "ApproximateNumberOfMessages": available,
        "ApproximateNumberOfMessagesDelayed": delayed,
        "ApproximateNumberOfMessagesNotVisible": not_visible,
    }


def _queue_attributes(queue: Any) -> dict[str, Any]:
    """moto's ``Queue.attributes``: same keys in the same order, same values, one scan of the messages."""
    counts = _message_counts(queue)
    result: dict[str, Any] = {}
    for attribute in queue.BASE_ATTRIBUTES:
        if attribute in _COUNTED_ATTRIBUTES:
            result[attribute] = counts[attribute]
        else:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.fifo_queue:
        for attribute in queue.FIFO_ATTRIBUTES:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.kms_master_key_id:
        for attribute in queue.KMS_ATTRIBUTES:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.policy:
        result["Policy"] = queue.policy
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


# --- dynamodb_transactions ----------------------------------------------------------------------------


@dataclass
class _ItemUndo:
    """What one item of a transaction looked like before (``None``: absent), to put it back on failure."""

    table: Any
    hash_value: Any
    range_value: Any
    before: Any
    bucket_existed: bool

    def restore(self) -> None:
        items = self.table.items
        if self.range_value is None:
            if self.before is None:
                items.pop(self.hash_value, None)
            else:
                items[self.hash_value] = self.before
            return
        if self.before is not None:
            items[self.hash_value][self.range_value] = self.before
            return
        bucket = items.get(self.hash_value)
        if bucket is not None:
            bucket.pop(self.range_value, None)
            if not bucket and not self.bucket_existed:
                del items[self.hash_value]


def _item_undo(backend: Any, table_name: str, key: dict[str, Any]) -> _ItemUndo | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(table_name)
    if table is None:
        return None  # the operation fails on the missing table and changes nothing
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    except (KeyError, TypeError):
        return None  # a malformed key: the operation fails before it writes
    bucket_existed = hash_value in table.items
    before = table.items[hash_value].get(range_value) if range_value is not None else None
    if range_value is None:
        before = table.items.get(hash_value)
    elif not bucket_existed:
        table.items.pop(hash_value, None)  # the lookup above must not leave an empty bucket behind
    return _ItemUndo(table, hash_value, range_value, copy.deepcopy(before), bucket_existed)


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` with a per-item undo log instead of table copies."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    touched = {op.get("TableName") for item in transact_items for op in item.values() if isinstance(op, dict)}
    if any(getattr(backend.tables.get(name), "stream_shard", None) is not None for name in touched if name):
        registry.original(_TRANSACT_WRITE)(backend, transact_items)
        return
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo: list[_ItemUndo] = []
    target_items: set[tuple[str, str]] = set()

    def rollback() -> None:
        for entry in reversed(undo):
            entry.restore()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[Any] = []  # [(Code, Message, Item) | (None, None, None)], as moto collects them
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            rollback()
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            if op_type != "ConditionCheck":
                entry = _item_undo(backend, table_name, key)
                if entry is not None:
                    undo.append(entry)
            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as exc:
            errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
        except Exception as exc:
            errors.append((type(exc).__name__, str(exc), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


# --- event_input_paths --------------------------------------------------------------------------------


def _event_template_parse(
    input_template: str, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    """moto's ``EventTemplateParser.parse``, each input path parsed once."""
    from jsonpath_ng.ext import parse
    from moto.events.utils import EventTemplateParser

    template_to_use = input_template or EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    input_paths_map = input_paths_map or EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    for input_path, path in input_paths_map.items():
        expression = _event_jsonpaths.get_or_create(path, functools.partial(parse, path))
        matches = expression.find(event)
        result = EventTemplateParser._stringify(matches[0].value) if matches else None
        if result:
            template_to_use = template_to_use.replace(f"<{input_path}>", result)
    default_inputs_map = {
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event["ingestion-time"],
    }
    for input_path, value in default_inputs_map.items():
        template_to_use = template_to_use.replace(f"<{input_path}>", EventTemplateParser._stringify(value))
    parsed: dict[str, Any] = json.loads(template_to_use)
    return parsed


# --- sns_signing --------------------------------------------------------------------------------------

_signing_certificates: dict[int, tuple[Any, str, bytes]] = {}  # id(key) → (key, PEM file name, PEM)
_signing_lock = threading.Lock()


def _signing_certificate(key: Any) -> tuple[str, bytes]:
    """The certificate moto would make for ``key`` (made once): its PEM file name and PEM."""
    with _signing_lock:
        known = _signing_certificates.get(id(key))
        if known is not None and known[0] is key:
            return known[1], known[2]
    import cryptography.x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID
    from moto.sns import models as sns_models

    now = sns_models.utcnow()
    certificate = (
        cryptography.x509.CertificateBuilder()
        .subject_name(Name([NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(
            Name(
                [
                    NameAttribute(NameOID.COUNTRY_NAME, "US"),
                    NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon"),
                    NameAttribute(NameOID.COMMON_NAME, "Amazon RSA 2048 M01"),
                ]
            )
        )
        .public_key(key.public_key())
        .serial_number(cryptography.x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    name = f"SimpleNotificationService-{str(sns_models.mock_random.uuid4()).replace('-', '')}.pem"
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    with _signing_lock:
        _signing_certificates[id(key)] = (key, name, pem)
    return name, pem


def _sns_post_data(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """moto's ``Subscription.get_post_data`` (SignatureVersion 2), one certificate per subscription key."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from moto.sns import models as sns_models

    key = subscription.private_key()
    key_name, pem = _signing_certificate(key)
    timestamp = sns_models.iso_8601_datetime_with_milliseconds()
    string_to_sign = (
        f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\n"
        f"TopicArn\n{subscription.topic.arn}\nType\nNotification\n"
    )
    signature = key.sign(string_to_sign.encode("UTF-8"), padding.PKCS1v15(), hashes.SHA256())
    region = subscription.topic.sns_backend.region_name
    # Stored where moto serves it from (a reset backend gets it again).
    public_keys = sns_models.sns_backends[sns_models.DEFAULT_ACCOUNT_ID][region]._message_public_keys
    public_keys.setdefault(key_name, pem)
    post_data: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic.arn,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "2",
        "Signature": base64.b64encode(signature).decode("utf-8"),
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/{key_name}",
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:"
            f"{subscription.account_id}:{subscription.topic.name}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
        ),
    }
    if subject:
        post_data["Subject"] = subject
    if message_attributes:
        post_data["MessageAttributes"] = message_attributes
    return post_data


# --- install / uninstall ------------------------------------------------------------------------------


def _patches() -> dict[str, list[tuple[str, Any, str]]]:
    return {
        "parsed_program": [
            (
                _PARSE,
                staticmethod(_cached_parse),
                "reuse a definition's parsed program",
            ),
        ],
        "start_snapshot": [
            (
                _START,
                _start_execution,
                "shallow snapshot, not deepcopy; name unnamed runs",
            ),
        ],
        "client_cache": [
            (path, _cached_boto_client_for, "one boto3 client per region/service/endpoint, not one per task")
            for path in (_BOTO_CLIENT_FOR, *_BOTO_CLIENT_USERS)
        ],
        "jsonpath_cache": [
            (_JSONPATH_EXT_PARSE, _cached_ext_jsonpath, "parse each JSONPath once (ext parser)"),
            (_JSONPATH_RESULT_PATH_PARSE, _cached_plain_jsonpath, "parse each ResultPath once"),
        ],
        "http_dispatch": [
            (_MOTO_MODULES, _cached_moto_modules, "list moto's package directory once, not per HTTP request"),
            (_BACKEND_FOR_HOST, _cached_backend_for_host, "map each Host header to a backend once"),
        ],
        # Takes effect in _cached_boto_client_for; nothing of moto's is replaced for it.
        "direct_dispatch": [],
        "action_lookup": [
            (_METHOD_NAMES, _cached_method_names, "list a response class's methods once, not per API call"),
        ],
        "sqs_queue_attributes": [
            (_QUEUE_ATTRIBUTES, property(_queue_attributes), "count a queue's messages in one scan"),
        ],
        "dynamodb_transactions": [
            (_TRANSACT_WRITE, _transact_write_items, "undo log of the touched items, not table deep copies"),
        ],
        "event_input_paths": [
            (_EVENT_TEMPLATE_PARSE, staticmethod(_event_template_parse), "parse each input path once"),
        ],
        "sns_signing": [
            (_SNS_POST_DATA, _sns_post_data, "one signing certificate per subscription key, not per message"),
        ],
    }


def _register_read_only() -> None:
    registry.register(_HEAP_KEY, "assigned once per cached program so concurrent executions agree on it")
    registry.register(_EVAL_COMPONENT, "heap keys of cached programs")
    registry.register("moto.stepfunctions.parser.asl.component.component.Component", "walk cached programs")
    registry.register(_TMP_THREADS, "pruned of finished threads (moto never empties it)")
    for used_by_start in (
        "moto.stepfunctions.models.StateMachine._handle_name_input_idempotency",
        "moto.stepfunctions.models.StepFunctionBackend._validate_name",
        "moto.stepfunctions.parser.backend.execution.Execution",
        "moto.stepfunctions.parser.api.InvalidExecutionInput",
        "moto.moto_api._internal.mock_random",
    ):
        registry.register(used_by_start, "called by our StartExecution exactly as moto's own does")
    registry.register(_STUBBER, "whether task calls are intercepted in-process (selects the endpoint)")
    registry.register(_SQS_CLOCK, "moto's SQS clock (visible / delayed), read once per attribute build")
    registry.register("moto.core.utils.camelcase_to_underscores", "attribute name -> Queue field, cached")
    for used_by_signing in (
        "moto.sns.models.Subscription.private_key",
        "moto.sns.models.sns_backends",
        "moto.sns.models.DEFAULT_ACCOUNT_ID",
        "moto.sns.models.utcnow",
        "moto.sns.models.iso_8601_datetime_with_milliseconds",
        "moto.sns.models.mock_random",
        "moto.sns.models.SNSBackend",  # instance attribute _message_public_keys: the PEMs moto serves
    ):
        registry.register(used_by_signing, "SNS envelopes signed as moto signs them")
    for queue_field in (
        "moto.sqs.models.Queue.FIFO_ATTRIBUTES",
        "moto.sqs.models.Queue.KMS_ATTRIBUTES",
        "moto.sqs.models.Message.visible",
        "moto.sqs.models.Message.delayed",
    ):
        registry.register(queue_field, "Queue.attributes rebuilt with moto's definitions")


def _register_all() -> None:
    """Declare every moto internal this module reads or replaces (at import, for the moto guard test)."""
    _register_read_only()
    for patches in _patches().values():
        for dotted_path, _, reason in patches:
            registry.register(dotted_path, reason)


_register_all()


def install(only: Iterable[str] | None = None) -> None:
    """Apply the speed-ups (all, or the named subset of ``PATCH_NAMES``); calling again is a no-op."""
    wanted = set(PATCH_NAMES if only is None else only)
    unknown = wanted - set(PATCH_NAMES)
    if unknown:
        raise ValueError(f"unknown engine patches {sorted(unknown)}; known: {PATCH_NAMES}")
    patches = _patches()
    with _lock:
        for name in PATCH_NAMES:
            if name not in wanted or name in _installed:
                continue
            for dotted_path, replacement, reason in patches[name]:
                registry.patch(dotted_path, replacement, reason)
            _installed.add(name)


def uninstall() -> None:
    """Restore moto's own code and drop the caches."""
    patches = _patches()
    with _lock:
        for name in PATCH_NAMES:
            if name not in _installed:
                continue
            for dotted_path, _, _ in patches[name]:
                registry.unpatch(dotted_path)
                if dotted_path in _STATICMETHODS:
                    # resolve() handed moto_patches the bare function behind moto's staticmethod.
                    owner_path, _, attribute = dotted_path.rpartition(".")
                    owner = registry.resolve(owner_path)
                    setattr(owner, attribute, staticmethod(owner.__dict__[attribute]))
            _installed.discard(name)
        clear_caches()


def installed() -> frozenset[str]:
    with _lock:
        return frozenset(_installed)
