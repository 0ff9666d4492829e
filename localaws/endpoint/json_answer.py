"""A JSON-protocol action's success written as moto's response serialiser writes it, for far less CPU.

moto answers an action's result (an ``ActionResult`` of plain dicts and lists) by walking the operation's
output shape, and for every member of every structure it builds a picker context and tries the member's
possible spellings (aliases by shape and class name, snake_case) through a chain of alias providers. A
DynamoDB item is a map of attribute values, each a structure of ten members (``S``, ``N``, ``B``, ``SS``,
... ``BOOL``), so writing a GetItem's answer was about three quarters of the endpoint's CPU for the call, and
a fifth of a TransactWriteItems'.

Here each shape is turned into a writer once: a structure's members in the shape's order, each with the
names moto's picker tries for a dict (asked of moto's own ``XFormedAttributePicker``, once) and the name it
is written under; a list's and a map's element writer; a scalar's conversion (``int()``, ``float()``,
base64, moto's own timestamp serializer). Then each answer is one walk of the value, and the body is
``json.dumps`` of what moto's serialiser would have built, so the bytes are the same.

Only what both walks treat alike is covered: a result of moto's ``ActionResult`` kind (its own
``execute_result``) holding dicts, lists, and scalars of the member's type. Anything else -- an error, a
result class with its own ``execute_result`` (paginated ones), an object or a tuple where moto's picker
would read attributes, a ``None`` inside a list or a map, a document, an element written under another
name, response transformers, another serialiser class, indented answers -- goes to moto's serialiser, whole
(``tests/localaws/endpoint/test_json_answer.py`` compares both, byte for byte).
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any

from localaws.patches import registry

_SERIALIZE = "moto.core.serialize"
_RESPONSES = "moto.core.responses"
_PICKER = registry.register(
    f"{_SERIALIZE}.XFormedAttributePicker", "the names moto's serialiser tries for a member, asked once"
)
_PICKER_CONTEXT = registry.register(
    f"{_SERIALIZE}.AttributePickerContext", "what the picker is asked about: a dict, a member, its shape"
)
registry.register(f"{_SERIALIZE}.AttributePicker.get_possible_keys", "the names, in the order tried")
_TIMESTAMPS = registry.register(f"{_SERIALIZE}.TimestampSerializer", "timestamps written by moto's code")
registry.register(f"{_SERIALIZE}.TimestampSerializer.serialize", "timestamps written by moto's code")
_JSON_SERIALIZER = registry.register(
    f"{_SERIALIZE}.JSONSerializer", "the serialiser whose answers are written here (others are left to moto)"
)
registry.register(
    f"{_SERIALIZE}.BaseJSONSerializer.DEFAULT_TIMESTAMP_FORMAT",
    "a timestamp's format when its shape names none",
)
_SERIALIZER_CLASS = registry.register(
    f"{_SERIALIZE}.get_serializer_class", "which serialiser moto would use for the service's protocol"
)
_ACTION_RESULT = registry.register(f"{_RESPONSES}.ActionResult", "an action's answer")
registry.register(f"{_RESPONSES}.ActionResult.execute_result", "results that serialise as moto's own do")
registry.register(f"{_RESPONSES}.ActionResult.result", "the value an answer is written from")
registry.register(f"{_RESPONSES}.BaseResponse.serialized", "what this writes in place of, for successes")
registry.register(f"{_RESPONSES}.BaseResponse.boto3_service_name", "the service model of the answer")
registry.register(
    f"{_RESPONSES}.BaseResponse.response_headers", "added to the answer's headers, as moto does"
)
_SERVICE_MODEL = registry.register("moto.core.utils.get_service_model", "the output shapes answers follow")
_SETTINGS = registry.register("moto.settings.PRETTIFY_RESPONSES", "indented answers: moto's serialiser")

# moto's JSON content type, by the service's jsonVersion.
_CONTENT_TYPE = "application/x-amz-json-{version}"

Writer = Callable[[Any], Any]


class _NotCoveredError(Exception):
    """A value this module does not write as moto would: moto's serialiser writes the answer."""


def _not_covered(_: Any) -> Any:
    raise _NotCoveredError


class _Moto:
    """moto's objects, resolved once (a lookup imports along the dotted path)."""

    def __init__(self) -> None:
        self.picker = registry.resolve(_PICKER)()
        self.picker_context = registry.resolve(_PICKER_CONTEXT)
        json_serializer = registry.resolve(_JSON_SERIALIZER)
        self.json_serializer = json_serializer
        self.timestamps = registry.resolve(_TIMESTAMPS)(json_serializer.DEFAULT_TIMESTAMP_FORMAT)
        self.serializer_class = registry.resolve(_SERIALIZER_CLASS)
        self.action_result = registry.resolve(_ACTION_RESULT)
        self.service_model = registry.resolve(_SERVICE_MODEL)
        self.settings = registry.resolve("moto.settings")


@functools.cache
def _resolved() -> _Moto:
    return _Moto()


def resolved_moto() -> _Moto:
    """moto's serialiser objects, resolved once per process (also ``query_answer``'s)."""
    return _resolved()


def member_names(shape: Any, key: str, member: Any) -> tuple[str, ...]:
    """The names moto's serialiser tries, in order, for ``shape``'s member ``key`` of a dict (asked of its
    own picker once)."""
    moto = _resolved()
    member.parent = shape  # moto's serialiser sets it before picking: some aliases read it
    context = moto.picker_context(obj={}, key=key, shape=member)
    return tuple(dict.fromkeys(moto.picker.get_possible_keys(context)))


class ShapeWriters:
    """One writer per shape of a service's model, made on first use (shape names are unique in a model)."""

    def __init__(self, moto: _Moto) -> None:
        self._moto = moto
        self._writers: dict[str, Writer] = {}  # complete writers only: read without the lock
        self._making: dict[str, Writer] = {}  # those being made, published when the outermost is done
        self._lock = threading.Lock()

    def writer(self, shape: Any) -> Writer:
        found = self._writers.get(shape.name)
        if found is None:
            with self._lock:
                found = self._make(shape)
                self._writers.update(self._making)
                self._making.clear()
        return found

    def _make(self, shape: Any) -> Writer:
        """The shape's writer; a recursive shape (an attribute value's ``M`` and ``L``) finds itself."""
        found = self._writers.get(shape.name) or self._making.get(shape.name)
        if found is not None:
            return found
        made: list[Writer] = []

        def forward(value: Any) -> Any:  # what its own members find while they are made
            return made[0](value)

        self._making[shape.name] = forward
        kind = shape.type_name
        if kind == "structure":
            writer = self._structure(shape)
        elif kind == "list":
            writer = self._list(shape)
        elif kind == "map":
            writer = self._map(shape)
        else:
            writer = self._scalar(shape)
        made.append(writer)
        self._making[shape.name] = writer
        return writer

    def _structure(self, shape: Any) -> Writer:
        """Members in the shape's order, each read by the first name moto's picker finds in the dict."""
        if shape.is_document_type:
            return _not_covered
        members = []
        for key, member in shape.members.items():
            names = member_names(shape, key, member)
            members.append((names, member.serialization.get("name", key), self._make(member)))

        def write_structure(value: Any) -> Any:
            if type(value) is not dict:
                raise _NotCoveredError
            out = {}
            for names, written_as, write in members:
                for name in names:
                    if name in value:
                        item = value[name]
                        if item is not None:
                            out[written_as] = write(item)
                        break
            return out

        return write_structure

    def _list(self, shape: Any) -> Writer:
        member = shape.member
        if member.serialization.get("name", member.name) != member.name:
            return _not_covered  # moto then keeps each element as it is
        write_member = self._make(member)

        def write_list(value: Any) -> Any:
            if type(value) is not list:
                raise _NotCoveredError
            return [_not_none(item, write_member) for item in value]

        return write_list

    def _map(self, shape: Any) -> Writer:
        value_shape = shape.value
        if "name" in value_shape.serialization:
            return _not_covered  # every entry would be written under that one name
        write_value = self._make(value_shape)

        def write_map(value: Any) -> Any:
            if type(value) is not dict:
                raise _NotCoveredError
            out = {}
            for key, item in value.items():
                if type(key) is not str:
                    raise _NotCoveredError
                out[key] = _not_none(item, write_value)
            return out

        return write_map

    def _scalar(self, shape: Any) -> Writer:
        kind = shape.type_name
        if kind == "string":
            return _string
        if kind == "boolean":
            return _boolean
        if kind in ("integer", "long"):
            return _integer
        if kind in ("float", "double"):
            return _float
        if kind == "blob":
            return _blob
        if kind == "timestamp":
            return functools.partial(_timestamp, self._moto.timestamps, shape)
        return _not_covered


def _not_none(item: Any, write: Writer) -> Any:
    """An element of a list or a map: moto writes a None element by its type's rules, left to it."""
    if item is None:
        raise _NotCoveredError
    return write(item)


def _string(value: Any) -> Any:
    if isinstance(value, Enum):  # as moto's JSON serialiser: an Enum by its value
        value = value.value
    if type(value) is not str:
        raise _NotCoveredError
    return value


def _boolean(value: Any) -> Any:
    if type(value) is not bool:
        raise _NotCoveredError
    return value


def _integer(value: Any) -> Any:
    if type(value) is not int:
        raise _NotCoveredError
    return value


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _NotCoveredError


def _blob(value: Any) -> Any:
    """As moto's ``_base64``: a text is encoded as UTF-8 first."""
    if type(value) is str:
        value = value.encode("utf-8")
    elif type(value) is not bytes:
        raise _NotCoveredError
    return base64.b64encode(value).strip().decode("utf-8")


def _timestamp(timestamps: Any, shape: Any, value: Any) -> Any:
    wrapper: dict[str, Any] = {}
    try:
        timestamps.serialize(wrapper, value, shape, "timestamp")
    except Exception as exc:  # moto's serialiser meets the same value: it raises there, as it always did
        raise _NotCoveredError from exc
    return wrapper["timestamp"]


class _Operation:
    """What an operation's answers need: its status code, content type and output writer (or None)."""

    def __init__(self, moto: _Moto, writers: ShapeWriters, service_name: str, operation: str) -> None:
        service = moto.service_model(service_name)
        model = service.operation_model(operation)
        self.status = model.http.get("responseCode", 200)
        self.content_type = _CONTENT_TYPE.format(version=service.metadata.get("jsonVersion", "1.0"))
        self.covered = (
            moto.serializer_class(service.service_name, service.protocol) is moto.json_serializer
            and service.protocol == "json"
            and not model.has_event_stream_output
        )
        output = model.output_shape
        self.write: Writer | None = None if output is None else writers.writer(output)


class JsonAnswers:
    """Successes of JSON-protocol actions written as moto's serialiser writes them (see the module)."""

    def __init__(self) -> None:
        self._writers: dict[str, ShapeWriters] = {}
        self._operations: dict[tuple[str, str], _Operation] = {}
        self._lock = threading.Lock()

    def _operation(self, service_name: str, operation: str) -> _Operation:
        key = (service_name, operation)
        found = self._operations.get(key)
        if found is None:
            moto = _resolved()
            with self._lock:
                writers = self._writers.setdefault(service_name, ShapeWriters(moto))
                found = self._operations[key] = _Operation(moto, writers, service_name, operation)
        return found

    def serialized(
        self, operation: str, handler: Any, result: Any, moto_serialized: Callable[[Any], Any]
    ) -> Any:
        """``handler.serialized(result)`` for ``operation``: written here when covered, else by moto."""
        body = self._body(operation, handler, result)
        if body is None:
            return moto_serialized(result)
        found = self._operation(handler.boto3_service_name, operation)
        headers = {"Content-Type": found.content_type}
        headers.update(handler.response_headers)
        return found.status, headers, body

    def _body(self, operation: str, handler: Any, result: Any) -> str | None:
        moto = _resolved()
        if (
            not isinstance(result, moto.action_result)
            or type(result).execute_result is not moto.action_result.execute_result
            or getattr(handler, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
            or moto.settings.PRETTIFY_RESPONSES
        ):
            return None
        found = self._operation(handler.boto3_service_name, operation)
        value = result.result
        if not found.covered or isinstance(value, Exception):
            return None
        if found.write is None or value is None:
            return "{}"  # no output shape, or nothing to write: moto writes an empty object
        try:
            return json.dumps(found.write(value))
        except _NotCoveredError:
            return None
