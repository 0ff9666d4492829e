"""Speed-up of moto's DynamoDB: ConditionExpressions parsed once per text.

* ``dynamodb_condition_expressions`` -- every PutItem, UpdateItem and DeleteItem (and each item of a
  transaction) has its ``ConditionExpression`` tokenized and parsed by ``ConditionExpressionParser.parse``
  two or three times: in the handler (to check the placeholders used), in the backend (to evaluate it), and
  in a transaction's own check. The handlers send the same few texts again and again, with other values.

  What the parse builds from the text alone is its syntax tree (moto's ``Node`` tuples); the request's
  ``ExpressionAttributeNames`` and ``ExpressionAttributeValues`` enter only at the leaves, where moto looks
  up each ``#name`` and ``:value`` placeholder (``_lookup_expression_attribute_name`` / ``_value``). So the
  tree of a text that parsed is kept, with the placeholders in the order moto looked them up, and each call
  does those look-ups again, in that order, on its own names and values (a missing one raises moto's own
  error, at the same point), puts the results into a copy of the tree's leaves, and builds the condition
  from that copy with moto's own ``_make_op_condition``. The placeholders found (which the handler checks
  against the names and values given) come from the text, as moto finds them. A text that fails to parse
  is not kept: it goes through moto's parse, and fails the same way, every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser

from localaws.patches import registry
from localaws.patches.speedups.cache import LruCache

_PARSER = "moto.dynamodb.comparisons.ConditionExpressionParser"
_PARSE = f"{_PARSER}.parse"
# Distinct condition texts a process sees: a handful per handler.
_CONDITIONS_MAX = 512

_NAME = "name"
_VALUE = "value"
_KIND = ConditionExpressionParser.Kind
_NONTERMINAL = ConditionExpressionParser.Nonterminal


@dataclass(frozen=True)
class _Shape:
    """What a condition text parses to before any name or value is bound."""

    tree: Any  # moto's Node tuple, its leaves holding the values of the call that parsed it first
    lookups: tuple[tuple[str, str], ...]  # (kind, placeholder), in moto's order, first occurrence each
    names_found: tuple[str, ...]
    values_found: tuple[str, ...]


class _ShapeRecorder(ConditionExpressionParser):
    """moto's parser, noting each placeholder it looks up and the tree it builds the condition from."""

    def __init__(self, parser: Any) -> None:
        super().__init__(
            parser.condition_expression,
            parser.expression_attribute_names,
            parser.expression_attribute_values,
        )
        self.lookups: list[tuple[str, str]] = []
        self.tree: Any = None

    def _lookup_expression_attribute_value(self, name: str) -> Any:
        self.lookups.append((_VALUE, name))
        return super()._lookup_expression_attribute_value(name)

    def _lookup_expression_attribute_name(self, name: str) -> Any:
        self.lookups.append((_NAME, name))
        return super()._lookup_expression_attribute_name(name)

    def _make_op_condition(self, node: Any) -> Any:
        if self.tree is None:  # the first call is the root; the rest are its recursion
            self.tree = node
        return super()._make_op_condition(node)


conditions = LruCache(_CONDITIONS_MAX)


def _first_occurrences(lookups: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # A placeholder used twice is looked up twice by moto, in the same dict: the first look-up decides.
    return tuple(dict.fromkeys(lookups))


def _bind(node: Any, bound: dict[tuple[str, str], Any]) -> Any:
    """A copy of ``node`` whose placeholder leaves hold this call's names and values (shared parts reused)."""
    if node.kind == _KIND.EXPRESSION_ATTRIBUTE_VALUE:
        return node._replace(value=bound[(_VALUE, node.text)])
    if node.nonterminal == _NONTERMINAL.IDENTIFIER and node.text.startswith("#"):
        return node._replace(value=bound[(_NAME, node.text)])
    if not node.children:
        return node
    children = [_bind(child, bound) for child in node.children]
    if all(new is old for new, old in zip(children, node.children, strict=True)):
        return node
    return node._replace(children=children)


def _record(parser: Any) -> _Shape:
    """Parse ``parser``'s text with moto's own code, noting what it looked up and the tree it built."""
    recorder = _ShapeRecorder(parser)
    registry.original(_PARSE)(recorder)
    return _Shape(
        recorder.tree,
        _first_occurrences(recorder.lookups),
        tuple(recorder.expr_attr_names_found),
        tuple(recorder.expr_attr_values_found),
    )


def _parse(self: Any) -> Any:
    """``ConditionExpressionParser.parse``, the text's tree kept and bound to this call's names and values."""
    text = self.condition_expression
    if not text or not isinstance(text, str):
        return registry.original(_PARSE)(self)
    try:
        shape: _Shape = conditions.get_or_create(text, lambda: _record(self))
    except Exception:
        return registry.original(_PARSE)(self)  # not kept: moto's own error, from the caller's parser
    bound: dict[tuple[str, str], Any] = {}
    for kind, placeholder in shape.lookups:
        lookup: Callable[[str], Any] = (
            self._lookup_expression_attribute_value
            if kind == _VALUE
            else self._lookup_expression_attribute_name
        )
        bound[(kind, placeholder)] = lookup(placeholder)
    self.expr_attr_names_found.extend(shape.names_found)
    self.expr_attr_values_found.extend(shape.values_found)
    return self._make_op_condition(_bind(shape.tree, bound))


def clear() -> None:
    conditions.clear()


DYNAMODB_CONDITION_EXPRESSIONS = registry.PatchSet(
    "dynamodb_condition_expressions",
    [
        registry.Patch(
            _PARSE,
            _parse,
            "parse each ConditionExpression text once; bind each call's names and values to its tree",
        )
    ],
    reads=[
        (_PARSER, "subclassed to note the placeholders looked up and the tree built"),
        (f"{_PARSER}.__init__", "the recording parser is made as moto makes one"),
        (f"{_PARSER}.Kind", "which leaves hold a value"),
        (f"{_PARSER}.Nonterminal", "which leaves hold a name"),
        (f"{_PARSER}.Node", "the syntax tree's nodes"),
        (f"{_PARSER}.Node._replace", "a node copied with this call's name or value (a namedtuple's own)"),
        (f"{_PARSER}.condition_expression", "the text, the cache key"),
        (f"{_PARSER}.expression_attribute_names", "the names the recording parser looks up"),
        (f"{_PARSER}.expression_attribute_values", "the values the recording parser looks up"),
        (f"{_PARSER}.expr_attr_names_found", "the placeholders found, which the handlers check"),
        (f"{_PARSER}.expr_attr_values_found", "the placeholders found, which the handlers check"),
        (f"{_PARSER}._lookup_expression_attribute_name", "each #name, looked up as moto does"),
        (f"{_PARSER}._lookup_expression_attribute_value", "each :value, looked up as moto does"),
        (f"{_PARSER}._make_op_condition", "the condition built from the bound tree, by moto"),
    ],
)
