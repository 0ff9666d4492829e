"""Speed-up of moto's DynamoDB.

* ``dynamodb_transactions`` -- ``TransactWriteItems`` deep-copies every table it touches, once per item, so
  that it can roll back; its cost grows with the table (the inventory and idempotency tables grow with every
  order). We keep a copy of each item the transaction touches instead and put those back on failure: same
  checks, same errors, same state after a cancelled transaction. Tables with a stream keep moto's own code.
  moto checks each item's ``ConditionExpression`` and then hands it to the write (``put_item``,
  ``update_item``, ``delete_item``), which parses it and checks it again against the same item: nothing can
  change that item in between (the transaction holds the lock every DynamoDB call runs under,
  ``corrections.dynamodb_lock``, and an item is written once per transaction), and a condition only reads
  the item, so the second check always passes and any error in the text has been raised by the first. The
  write gets no condition.
* ``dynamodb_update_expressions`` -- every ``UpdateItem`` (and each ``Update`` of a transaction) tokenizes and
  parses its ``UpdateExpression`` twice, in the handler and in the backend; the handlers send the same few
  expressions again and again. The parse depends only on the text, and its tree is only read (moto's
  ``Validator`` works on a deep copy of it), so each text is parsed once. An expression that fails to parse
  is not kept: it fails again, with the same error, every time. The ``Validator``'s deep copy of such a
  kept tree is then made by unpickling a pickle taken once (a parsed tree holds only moto's plain ``Node``
  objects, lists and strings, none with copy hooks, so both give the same fresh tree; pickling is C code,
  about a quarter of the cost). Anything else the validators copy goes to ``copy.deepcopy``.
* ``dynamodb_validator_traversal`` -- each of the ten processors that validate an update walks the whole tree
  with ``DepthFirstTraverser.traverse_node_recursively``, which for every node rebuilds the processor's
  ``_processing_map`` twice (once for the tuple of types it handles) and asks ``ABCMeta`` whether the node is
  a ``Node``: about half of the validation's CPU. Every processor's map is fixed (a dict literal of classes
  to its own methods), so our walk remembers per node class whether it is a ``Node``, and per processor
  class, found once: whether it has a hook of its own (the base ``pre_processing_of_child`` does nothing,
  and seven of the ten keep it), and for each node class the method moto's ``process`` would pick (the
  first map entry the node is an instance of; a class with its own ``process`` has that called). Otherwise
  the walk is moto's own: the same order, the same hook and processing calls, the same replacement of
  processed nodes in their parent. Looking these up once per class instead of once per walk made a
  backend UpdateItem about 19 % cheaper (153 -> 124 us, the heap settled as in the endpoint).
* ``dynamodb_update_checks`` -- the first three of those processors only check the tree and return it as
  it is: one clause of each kind (``ActionCountValidator``), no path updated twice
  (``OverlappingPathsValidator``, which also reads the ``#names``), no key attribute updated
  (``UpdateHashRangeKeyValidator``: the ``#names`` and the table's key attributes). Run on every node of
  the kind ``UpdateExpression`` (every clause and action is one), with ``find_clauses`` over its subtree
  each time, they are about 40 % of the validation.
  Their outcome depends on nothing else, so once a check passed on a kept parse tree (its copy made by
  ``dynamodb_update_expressions``) with the same names and key attributes, it is skipped; a check that
  fails is not kept: it runs, and fails the same way, every time. The other seven processors (values,
  the item's attributes, functions, types) run on every call, as in moto.
"""

from __future__ import annotations

import copy
import pickle
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node  # type: ignore[attr-defined]

from localaws.patches import corrections, registry
from localaws.patches.speedups.cache import CacheStats, LruCache

_TRANSACT_WRITE = "moto.dynamodb.models.DynamoDBBackend.transact_write_items"
_PARSE_UPDATE = "moto.dynamodb.parsing.expressions.UpdateExpressionParser.make"
_VALIDATORS_DEEPCOPY = "moto.dynamodb.parsing.validators.deepcopy"
_TRAVERSE = "moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser.traverse_node_recursively"
# Distinct update expressions a process sees: a handful per handler.
_EXPRESSIONS_MAX = 512
# TransactWriteItems' limit on AWS, which moto enforces too.
_MAX_TRANSACTION_ITEMS = 100
_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


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


@dataclass
class _Transaction:
    """One TransactWriteItems call: the undo log, the keys already written, the per-item outcomes."""

    backend: Any
    undo: list[_ItemUndo] = field(default_factory=list)
    targets: set[tuple[str, str]] = field(default_factory=set)
    errors: list[Any] = field(default_factory=list)  # [(Code, Message, Item) | (None, None, None)], as moto's
    failed_item: dict[str, Any] | None = None  # the item a failed condition returns (ALL_OLD)

    def rollback(self) -> None:
        for entry in reversed(self.undo):
            entry.restore()

    def claim(self, table_name: str, key: dict[str, Any]) -> None:
        target = (str(table_name), str(dict(sorted(key.items()))))
        if target in self.targets:
            raise MultipleTransactionsException()
        self.targets.add(target)

    def key_of(self, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
        if op_type != "Put":
            return dict(op["Key"])
        attrs = op["Item"]
        table = self.backend.get_table(op["TableName"])
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    def check_condition(self, op: dict[str, Any], key: dict[str, Any]) -> None:
        condition_expression = op.get("ConditionExpression")
        if condition_expression is None:
            return
        current = self.backend.get_item(op["TableName"], key)
        condition = get_filter_expression(
            condition_expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        )
        if not condition.expr(current):
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                self.failed_item = current.to_json()["Attributes"]
            raise ConditionalCheckFailed(item=self.failed_item)

    def write(self, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
        """The item's write, its ``ConditionExpression`` not evaluated a second time (see the module's
        docstring); the names and values still go with it, for an ``UpdateExpression``."""
        conditions = {
            "condition_expression": None,
            "expression_attribute_names": op.get("ExpressionAttributeNames"),
            "expression_attribute_values": op.get("ExpressionAttributeValues"),
        }
        if op_type == "Put":
            self.backend.put_item(op["TableName"], op["Item"], **conditions)
        elif op_type == "Delete":
            self.backend.delete_item(op["TableName"], key, **conditions)
        elif op_type == "Update":
            self.backend.update_item(
                op["TableName"], key, update_expression=op["UpdateExpression"], **conditions
            )

    def apply(self, item: dict[str, Any]) -> None:
        """One item of the transaction, its outcome appended to ``errors`` as moto records it."""
        self.failed_item = None
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in _OPERATIONS:
                raise ValueError("Unsupported transaction operation")
            key = self.key_of(op_type, op)
            self.claim(op["TableName"], key)
            if op_type != "ConditionCheck":
                entry = _item_undo(self.backend, op["TableName"], key)
                if entry is not None:
                    self.undo.append(entry)
            self.check_condition(op, key)
            self.write(op_type, op, key)
            self.errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            self.rollback()
            raise
        except ConditionalCheckFailed as exc:
            self.errors.append(("ConditionalCheckFailed", str(exc.message), self.failed_item))
        except Exception as exc:
            self.errors.append((type(exc).__name__, str(exc), None))


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` with a per-item undo log instead of table copies."""
    touched = {op.get("TableName") for item in transact_items for op in item.values() if isinstance(op, dict)}
    if any(getattr(backend.tables.get(name), "stream_shard", None) is not None for name in touched if name):
        registry.original(_TRANSACT_WRITE)(backend, transact_items)
        return
    if len(transact_items) > _MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    with corrections.dynamodb_lock:  # held already by a served call: no DynamoDB call runs in between
        transaction = _Transaction(backend)
        for item in transact_items:
            if len(item) > 1:
                transaction.rollback()
                raise TransactWriteSingleOpException
            transaction.apply(item)
        if any(code is not None for code, _, _ in transaction.errors):
            transaction.rollback()
            raise TransactionCanceledException(transaction.errors)


DYNAMODB_TRANSACTIONS = registry.PatchSet(
    "dynamodb_transactions",
    [
        registry.Patch(
            _TRANSACT_WRITE, _transact_write_items, "undo log of the touched items, not table deep copies"
        )
    ],
    reads=[
        ("moto.dynamodb.models.dynamo_type.DynamoType", "the key of an item in a table's items"),
        ("moto.dynamodb.comparisons.get_filter_expression", "a ConditionExpression, evaluated as moto does"),
        *(
            (f"moto.dynamodb.exceptions.{error}", "the errors moto answers a transaction with")
            for error in (
                "TransactionCanceledException",
                "ConditionalCheckFailed",
                "MockValidationException",
                "MultipleTransactionsException",
                "TooManyTransactionsException",
                "TransactWriteSingleOpException",
            )
        ),
    ],
)


update_expressions = LruCache(_EXPRESSIONS_MAX)
# id(tree) → (the tree, its pickle); the tree is held so that its id cannot be reused.
_pickled: dict[int, tuple[Any, bytes]] = {}
_pickled_lock = threading.Lock()


def _parse_and_pickle(expression_str: str) -> Any:
    tree = registry.original(_PARSE_UPDATE)(expression_str)
    try:
        pickled = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return tree  # copied by deepcopy, as moto does
    with _pickled_lock:
        if len(_pickled) >= _EXPRESSIONS_MAX:
            _pickled.clear()  # trees evicted from the cache must not be held forever
        _pickled[id(tree)] = (tree, pickled)
    return tree


def _parsed_update_expression(expression_str: str) -> Any:
    return update_expressions.get_or_create(expression_str, lambda: _parse_and_pickle(expression_str))


def _copy_for_validation(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy`` for the validators; a kept parse tree comes from its pickle."""
    entry = _pickled.get(id(value)) if memo is None else None
    if entry is not None and entry[0] is value:
        copied = pickle.loads(entry[1])  # our own pickle of moto's parse tree, made in this process
        _remember_source(copied, value)
        return copied
    return copy.deepcopy(value, memo)


# type(node) → isinstance(node, Node); moto's node classes are ABCs, whose isinstance runs Python code.
_is_node: dict[type, bool] = {}
# The base processor's hook, which does nothing, and its dispatch; a processor class may override either.
_BASE_PRE_CHILD = DepthFirstTraverser.pre_processing_of_child
_BASE_PROCESS = DepthFirstTraverser.process


@dataclass
class _ProcessorPlan:
    """What the walk asks of a processor class, found once: its hook, and which method takes which node.

    ``pre_child``: the class's own ``pre_processing_of_child``, or ``None`` where it keeps the base hook.
    ``handlers``: node class → the function moto's ``process`` calls for such a node (the first entry of
    ``_processing_map()`` it is an instance of), or ``None`` where the processor does not handle it. A
    class with its own ``process`` has that called for every node it handles.
    """

    pre_child: Callable[[Any, Any, int], None] | None
    own_process: bool
    handlers: dict[type, Callable[[Any, Any], Any] | None] = field(default_factory=dict)

    def handler(self, processor: Any, node_class: type) -> Callable[[Any, Any], Any] | None:
        found = self.handlers.get(node_class, _UNKNOWN)
        if found is not _UNKNOWN:
            return found
        found = None
        if issubclass(node_class, tuple(processor.nodes_to_be_processed())):
            if self.own_process:
                found = type(processor).process
            else:
                found = next(
                    method.__func__
                    for key, method in processor._processing_map().items()
                    if issubclass(node_class, key)
                )
        self.handlers[node_class] = found
        return found


_UNKNOWN: Any = object()
_plans: dict[type, _ProcessorPlan] = {}


def _plan_of(processor_class: type) -> _ProcessorPlan:
    plan = _plans.get(processor_class)
    if plan is None:
        own_hook = processor_class.pre_processing_of_child is not _BASE_PRE_CHILD  # type: ignore[attr-defined]
        plan = _plans[processor_class] = _ProcessorPlan(
            processor_class.pre_processing_of_child if own_hook else None,  # type: ignore[attr-defined]
            processor_class.process is not _BASE_PROCESS,  # type: ignore[attr-defined]
        )
    return plan


def _walk(processor: Any, plan: _ProcessorPlan, node: Any, child_id: int) -> Any:
    """moto's ``traverse_node_recursively``, with what it asks of the processor's class looked up once."""
    cls = type(node)
    is_node = _is_node.get(cls)
    if is_node is None:
        is_node = _is_node[cls] = isinstance(node, Node)
    if not is_node:
        return node
    parent_node = node.parent
    children = node.children
    if children is not None:
        pre_child = plan.pre_child
        for i, child_node in enumerate(children):
            if pre_child is not None:
                pre_child(processor, node, i)
            _walk(processor, plan, child_node, i)
    handler = plan.handlers.get(cls, _UNKNOWN)
    if handler is _UNKNOWN:
        handler = plan.handler(processor, cls)
    if handler is not None:
        node = handler(processor, node)
        node.parent = parent_node
        if parent_node:
            parent_node.children[child_id] = node
    return node


def _traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
    return _walk(self, _plan_of(type(self)), node, child_id)


def clear() -> None:
    update_expressions.clear()
    _plans.clear()
    with _pickled_lock:
        _pickled.clear()
    with _checks_lock:
        _passed.clear()
        _sources.clear()
        update_checks.hits = update_checks.misses = 0


DYNAMODB_UPDATE_EXPRESSIONS = registry.PatchSet(
    "dynamodb_update_expressions",
    [
        registry.Patch(
            _PARSE_UPDATE,
            staticmethod(_parsed_update_expression),
            "parse each UpdateExpression text once; its tree is only read (Validator deep-copies it)",
        ),
        registry.Patch(
            _VALIDATORS_DEEPCOPY,
            _copy_for_validation,
            "the Validator's copy of a kept parse tree, from its pickle",
        ),
    ],
    reads=[
        (
            "moto.dynamodb.parsing.validators.Validator.__init__",
            "deep-copies the tree it validates, so a parsed tree can be shared",
        )
    ],
)


DYNAMODB_VALIDATOR_TRAVERSAL = registry.PatchSet(
    "dynamodb_validator_traversal",
    [
        registry.Patch(
            _TRAVERSE,
            _traverse_node_recursively,
            "each processor class's hook and node handlers found once; moto's walk otherwise",
        )
    ],
    reads=[
        ("moto.dynamodb.parsing.ast_nodes.Node", "what the walk descends into"),
        ("moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser", "the base hook and dispatch"),
        (
            "moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser._processing_map",
            "node class -> the method moto's process calls for it, in the map's order",
        ),
        *(
            (f"moto.dynamodb.parsing.ast_nodes.DepthFirstTraverser.{name}", "called as moto's walk calls it")
            for name in ("nodes_to_be_processed", "pre_processing_of_child", "process")
        ),
    ],
)


# --- dynamodb_update_checks -------------------------------------------------------------------------------

_VALIDATORS = "moto.dynamodb.parsing.validators"
_VALIDATE = f"{_VALIDATORS}.Validator.validate"
# Checks whose outcome depends only on the tree and on what the key below holds.
_ACTION_COUNT = f"{_VALIDATORS}.ActionCountValidator"
_OVERLAPPING_PATHS = f"{_VALIDATORS}.OverlappingPathsValidator"
_HASH_RANGE_KEY = f"{_VALIDATORS}.UpdateHashRangeKeyValidator"
# Outcomes kept: a handful of (expression, names, key schema) per handler.
_CHECKS_MAX = 4096

# The Validator's copy of a kept parse tree → that kept tree (held by the copy's entry only while it lives).
_sources: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
# (check class, kept tree, what else the check reads) of every check that passed; the tree is held here,
# so that a tree evicted from the parse cache cannot be confused with a new one.
_passed: set[tuple[Any, ...]] = set()
_checks_lock = threading.Lock()
_structural: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
# Checks skipped (hits) and run on a kept tree (misses), for the tests and the benchmark.
update_checks = CacheStats()


def _names_key(names: Any) -> Any:
    return None if names is None else tuple(sorted(names.items()))


def _structural_checks() -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """Each tree-only check's class → what, besides the tree, its outcome depends on."""
    if not _structural:
        _structural[registry.resolve(_ACTION_COUNT)] = lambda processor: ()
        _structural[registry.resolve(_OVERLAPPING_PATHS)] = lambda processor: (
            _names_key(processor.expression_attribute_names),
        )
        _structural[registry.resolve(_HASH_RANGE_KEY)] = lambda processor: (
            _names_key(processor.expression_attribute_names),
            tuple(processor.table_key_attributes),
        )
    return _structural


def _remember_source(copied: Any, source: Any) -> None:
    with _checks_lock:
        _sources[copied] = source


def _validate(self: Any) -> Any:
    """moto's ``Validator.validate``, each tree-only check skipped where it passed on the same inputs."""
    n = self.node_to_validate
    with _checks_lock:
        source = _sources.pop(n, None)
    checks = _structural_checks() if source is not None else {}
    for processor in self.processors:
        inputs = checks.get(type(processor))
        key: tuple[Any, ...] | None = None
        if inputs is not None:
            try:
                key = (type(processor), source, *inputs(processor))
                hash(key)
            except (TypeError, AttributeError):
                key = None  # something unhashable in the names: run the check, keep nothing
            if key is not None and key in _passed:
                update_checks.hits += 1
                continue
            update_checks.misses += 1
        n = processor.traverse(n)
        if key is not None:
            with _checks_lock:
                if len(_passed) >= _CHECKS_MAX:
                    _passed.clear()
                _passed.add(key)
    return n


DYNAMODB_UPDATE_CHECKS = registry.PatchSet(
    "dynamodb_update_checks",
    [
        registry.Patch(
            _VALIDATE,
            _validate,
            "the tree-only checks of an UpdateExpression skipped where they passed on the same inputs",
        )
    ],
    reads=[
        (f"{_VALIDATORS}.Validator.node_to_validate", "the copy of the tree being validated"),
        (f"{_VALIDATORS}.Validator.processors", "run in moto's order, as moto's validate runs them"),
        (_ACTION_COUNT, "one SET, REMOVE, ADD clause each: depends on the tree alone"),
        (_OVERLAPPING_PATHS, "no path updated twice: depends on the tree and the #names"),
        (f"{_OVERLAPPING_PATHS}.expression_attribute_names", "the #names the check resolves"),
        (_HASH_RANGE_KEY, "no key attribute updated: depends on the tree, the #names and the key schema"),
        (f"{_HASH_RANGE_KEY}.expression_attribute_names", "the #names the check resolves"),
        (f"{_HASH_RANGE_KEY}.table_key_attributes", "the key schema the check compares with"),
        (f"{_VALIDATORS}.DepthFirstTraverser.traverse", "each check that runs walks the tree as in moto"),
    ],
)
