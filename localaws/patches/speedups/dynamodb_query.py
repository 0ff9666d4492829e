"""Speed-up of moto's DynamoDB: a Query on a table's own key reads that key's items, not the whole table.

* ``dynamodb_query_partition`` -- ``Table.query`` without an index starts from ``all_items()``: every item of
  the table, sorted by key (``DynamoType`` comparisons, in Python), of which it keeps those with the hash key
  asked for. So a Query costs more with every item the table holds: the payment service's look at the
  provider's statement (one Query a charge) took 0.7 ms of CPU on an empty table and 35 ms at 10,000 items,
  and it was most of what made a long import slow down as orders piled up.

  moto keeps a table's items by hash key (``Table.items``: hash key → item, or → {range key → item}). So
  moto's own ``query`` runs on a view of the table whose ``all_items()`` holds only that hash key's items,
  sorted with moto's own sort key. moto's query keeps the items whose hash key equals the one asked for, in
  ``all_items()`` order; the items filed under that key are exactly those (an item is filed under its own
  hash key, and a ``DynamoType`` hashes as it compares), and a stable sort of them gives them in the order
  the sort of the whole table does. Everything after (range conditions, pages, limits, filters,
  projections, errors) is moto's code on the same list. A Query on an index, or without a hash key value,
  takes moto's path.
"""

from __future__ import annotations

from typing import Any

from localaws.patches import registry

_TABLE = "moto.dynamodb.models.table.Table"
_QUERY = f"{_TABLE}.query"
# Where ``index_name`` comes in moto's ``Table.query(hash_key, ...)`` after the hash key (the backend passes
# it by position): range_comparison, range_objs, limit, exclusive_start_key, scan_index_forward,
# projection_expressions, index_name.
INDEX_NAME_POSITION = 6


class _OnePartition:
    """A table as moto's ``Table.query`` reads it, whose ``all_items()`` holds one hash key's items."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        self._table = table
        self._hash_key = hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        """moto's ``all_items()`` of the items filed under the hash key: same list, same order."""
        filed = self._table.items.get(self._hash_key)
        if filed is None:
            items = []
        elif self._table.range_key_attr:
            items = list(filed.values())
        else:
            items = [filed]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _files_by(hash_key: Any) -> bool:
    """Whether ``hash_key`` can find its items in ``Table.items`` (a key of an unhashable type cannot)."""
    try:
        hash(hash_key)
    except TypeError:
        return False
    return True


def _query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's ``Table.query``; on the table's own key, run on the view of that key's items."""
    index_name = args[INDEX_NAME_POSITION] if len(args) > INDEX_NAME_POSITION else kwargs.get("index_name")
    target = table
    if not index_name and hash_key is not None and _files_by(hash_key):
        target = _OnePartition(table, hash_key)
    return registry.original(_QUERY)(target, hash_key, *args, **kwargs)


DYNAMODB_QUERY_PARTITION = registry.PatchSet(
    "dynamodb_query_partition",
    [registry.Patch(_QUERY, _query, "a Query on the table's key reads that key's items, not every item")],
    reads=[
        (f"{_TABLE}.all_items", "what moto's query starts from; the view gives one key's part of it"),
        (f"{_TABLE}.items", "the items by hash key (then by range key), as moto files them"),
        (f"{_TABLE}.range_key_attr", "whether a hash key holds one item or a dict of them"),
        ("moto.dynamodb.models.dynamo_type.Item.hash_key", "moto's sort key for all_items"),
        ("moto.dynamodb.models.dynamo_type.Item.range_key", "moto's sort key for all_items"),
    ],
)
