"""Speed-up of moto's request parsing: a JSON-protocol body read by readers built once per input shape.

* ``json_request_readers`` -- every call to a JSON-protocol service whose handler has moto parse its
  parameters (each DynamoDB and SQS call of the Lambda workers) has its decoded body turned into parameters
  by moto's ``JSONParser``, which walks botocore's input shape along every value: for each value it formats
  a method name and looks it up, and for each structure it goes through the member map and reads each
  member's wire name again. For a DynamoDB call that walk is about a seventh of the endpoint's CPU (an item
  is a map of AttributeValue structures of ten members each).

  What the walk does to a value depends only on the shape, which is fixed per operation. So each input shape
  gets, once, a tree of small functions (readers) that do moto's steps for it and nothing else: a structure
  keeps the members it finds under their wire names, in the shape's order, skipping ``None``, into moto's map
  type (``None`` itself stays ``None``; a document keeps the value); a list reads each item, a map each key
  and value; a blob and a timestamp go to the parser's own blob and timestamp parsers, the integer and float
  types through ``int`` and ``float``; every other type is kept as it is. The readers are built from the
  handlers moto's walk would pick: a type whose handler is not one of moto's own that we know (a parser
  class of its own, a handler replaced) keeps moto's walk for that shape, and so does a parser that is not
  exactly ``JSONParser``.

  A body the readers cannot read (a list where a structure goes, a number that is no number) is read again
  by moto's own walk, so that the error raised is moto's, from the same place: errors are never ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.parse import UNDEFINED, BaseJSONParser, JSONParser, RequestParser

from localaws.patches import registry
from localaws.patches.speedups.cache import LruCache

_PARSE = "moto.core.parse"
_PARSE_JSON_BODY = f"{_PARSE}.JSONParser._parse_json_body"
# Input shapes a process reads: one per operation called.
_READERS_MAX = 1024

Reader = Callable[[Any], Any]

# moto's own handlers, as its walk finds them for a type name (``_parse_<type>``, else ``_default_handle``).
_STRUCTURE = vars(BaseJSONParser)["_parse_structure"]
_LIST = vars(RequestParser)["_parse_list"]
_MAP = vars(RequestParser)["_parse_map"]
_BLOB = vars(BaseJSONParser)["_parse_blob"]
_TIMESTAMP = vars(BaseJSONParser)["_parse_timestamp"]
_FLOAT = vars(BaseJSONParser)["_parse_float"]
_INTEGER = vars(BaseJSONParser)["_parse_integer"]
_DEFAULT = vars(RequestParser)["_default_handle"]
_WALK = vars(RequestParser)["_parse_shape"]


class _UnknownHandlerError(Exception):
    """moto's walk would call a handler we do not know for this shape: the shape keeps moto's walk."""


def _keep(value: Any) -> Any:
    return value


def _as_float(value: Any) -> Any:
    if value is UNDEFINED:
        return value
    return float(value)


def _as_int(value: Any) -> Any:
    if value is UNDEFINED:
        return value
    return int(value)


def _definition_key(shape: Any) -> tuple[str, str, str, str]:
    """What a shape's reader depends on: its definition (by name) and the traits a member reference adds.

    botocore builds a fresh shape object for each member it resolves, so a recursive shape (DynamoDB's
    AttributeValue holds maps and lists of itself) is recognised by this key, not by identity."""
    return (shape.name, shape.type_name, repr(sorted(shape.serialization.items())), repr(shape.metadata))


class _ReaderBuilder:
    """Builds the readers of one parser configuration: its map type, blob parser and timestamp parser."""

    def __init__(self, parser: Any) -> None:
        self.map_type = parser.MAP_TYPE
        self.blob_parser = parser._blob_parser
        self.timestamp_parser = parser._timestamp_parser
        self.readers: dict[tuple[str, str, str, str], Reader] = {}

    def reader(self, shape: Any) -> Reader:
        key = _definition_key(shape)
        found = self.readers.get(key)
        if found is not None:
            return found
        later: list[Reader] = []

        def not_built_yet(value: Any) -> Any:
            return later[0](value)

        # A shape that holds itself (an AttributeValue's M and L) reaches its own reader through this.
        self.readers[key] = not_built_yet
        built = self._build(shape)
        later.append(built)
        self.readers[key] = built
        return built

    def _build(self, shape: Any) -> Reader:
        handler = getattr(JSONParser, f"_parse_{shape.type_name}", None)
        if handler is None:
            if JSONParser._default_handle is not _DEFAULT:
                raise _UnknownHandlerError(shape.type_name)
            return _keep
        if handler is _STRUCTURE:
            return self._structure(shape)
        if handler is _LIST:
            return self._list(shape)
        if handler is _MAP:
            return self._map(shape)
        if handler is _BLOB:
            return self.blob_parser
        if handler is _TIMESTAMP:
            return self.timestamp_parser
        if handler is _FLOAT:
            return _as_float
        if handler is _INTEGER:
            return _as_int
        raise _UnknownHandlerError(shape.type_name)

    def _structure(self, shape: Any) -> Reader:
        if shape.is_document_type:
            return _keep
        members = [
            (name, member.serialization.get("name", name), self._member_reader(member))
            for name, member in shape.members.items()
        ]
        map_type = self.map_type

        def read_structure(value: Any) -> Any:
            if value is None:
                return None
            parsed = map_type()
            if members:  # moto reads nothing off a value for a structure without members
                get = value.get
                for name, wire_name, read in members:
                    raw = get(wire_name)
                    if raw is not None:
                        parsed[name] = raw if read is None else read(raw)
            return parsed

        return read_structure

    def _list(self, shape: Any) -> Reader:
        read = self._member_reader(shape.member)
        if read is None:
            return list  # moto's loop, appending each item as it is
        return lambda node: [read(item) for item in node]

    def _map(self, shape: Any) -> Reader:
        read_key = self.reader(shape.key)
        read_value = self.reader(shape.value)
        map_type = self.map_type

        def read_map(value: Any) -> Any:
            parsed = map_type()
            for key, item in value.items():
                parsed_key = read_key(key)
                parsed[parsed_key] = read_value(item)
            return parsed

        return read_map

    def _member_reader(self, shape: Any) -> Reader | None:
        """The reader of a member or list item, or None where it keeps the value (no call then)."""
        read = self.reader(shape)
        return None if read is _keep else read


def _reader_of(parser: Any, shape: Any) -> tuple[Any, Reader | None]:
    """``shape`` (held, so that its id, the cache key, stays its own) and its reader, or None where moto's
    walk is kept."""
    if JSONParser._parse_shape is not _WALK:
        return shape, None
    try:
        return shape, _ReaderBuilder(parser).reader(shape)
    except _UnknownHandlerError:
        return shape, None


# (id(shape), map type, blob parser, timestamp parser) → (the shape, its reader or None)
readers = LruCache(_READERS_MAX)


def _parse_json_body(self: Any, raw_body: Any, shape: Any) -> Any:
    """moto's ``JSONParser._parse_json_body``, the decoded body read by the shape's readers."""
    moto_walk = registry.original(_PARSE_JSON_BODY)
    if type(self) is not JSONParser:
        return moto_walk(self, raw_body, shape)
    key = (id(shape), self.MAP_TYPE, self._blob_parser, self._timestamp_parser)
    _, reader = readers.get_or_create(key, lambda: _reader_of(self, shape))
    if reader is None:
        return moto_walk(self, raw_body, shape)
    decoded = self._parse_body_as_json(raw_body)
    try:
        return reader(decoded)
    except Exception:
        return moto_walk(self, raw_body, shape)  # moto's own walk raises moto's own error


def clear() -> None:
    readers.clear()


JSON_REQUEST_READERS = registry.PatchSet(
    "json_request_readers",
    [
        registry.Patch(
            _PARSE_JSON_BODY,
            _parse_json_body,
            "the decoded body read by readers built once per input shape, doing the walk's steps",
        )
    ],
    reads=[
        (f"{_PARSE}.JSONParser", "the only parser class whose walk is replaced"),
        (f"{_PARSE}.BaseJSONParser", "its structure, blob, timestamp and number handlers"),
        (f"{_PARSE}.RequestParser", "its list and map handlers, the default handler and the walk"),
        (f"{_PARSE}.UNDEFINED", "the absent value the number handlers pass through"),
        (f"{_PARSE}.JSONParser._parse_shape", "the walk: another walk keeps moto's own"),
        (f"{_PARSE}.JSONParser._default_handle", "the handler of every other type: keeps the value"),
        (f"{_PARSE}.JSONParser._parse_body_as_json", "the body decoded as moto decodes it"),
        (f"{_PARSE}.JSONParser.MAP_TYPE", "the map type moto's walk builds structures and maps in"),
        (f"{_PARSE}.JSONParser._blob_parser", "a blob, parsed as moto's walk parses it"),
        (f"{_PARSE}.JSONParser._timestamp_parser", "a timestamp, parsed as moto's walk parses it"),
        *(
            (f"{_PARSE}.{owner}.{handler}", "one of moto's handlers the readers do the steps of")
            for owner, handler in (
                ("BaseJSONParser", "_parse_structure"),
                ("RequestParser", "_parse_list"),
                ("RequestParser", "_parse_map"),
                ("BaseJSONParser", "_parse_blob"),
                ("BaseJSONParser", "_parse_timestamp"),
                ("BaseJSONParser", "_parse_float"),
                ("BaseJSONParser", "_parse_integer"),
                ("RequestParser", "_default_handle"),
                ("RequestParser", "_parse_shape"),
            )
        ),
    ],
)
