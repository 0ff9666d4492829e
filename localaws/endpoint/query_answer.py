"""A query-protocol action's success (SNS Publish) written as moto's response serialiser writes it.

moto answers a query-protocol action by walking the output shape into dicts (its attribute picker tries
each member's spellings through a chain of alias providers) and handing them to ``xmltodict``, whose SAX
writer builds the XML element by element: about a quarter of an SNS Publish's CPU at the endpoint, for
``<PublishResponse xmlns="..."><PublishResult><MessageId>...</MessageId></PublishResult><ResponseMetadata>
<RequestId>request-id</RequestId></ResponseMetadata></PublishResponse>``.

Here an operation whose output is a structure of plain string members is written directly: the members
in the shape's order, each read by the first name moto's picker tries for a dict (asked of moto's own
``XFormedAttributePicker``, once), its text escaped as the SAX writer escapes it, an empty one as an empty
element; ``request-id`` left for moto's ``_enrich_response`` to replace, as it replaces it in moto's own
body. Anything else -- an error, another result class, a value that is not a dict or a member that is not a
string, a member with a namespace or written as an attribute, other member types, a response transformer
on a member, JSON answers (``ContentType=JSON``), indented answers -- goes to moto's serialiser, whole
(``tests/localaws/endpoint/test_query_answer.py`` compares both, byte for byte).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from localaws.endpoint.json_answer import member_names, resolved_moto
from localaws.patches import registry

_SERIALIZE = "moto.core.serialize"
_RESPONSES = "moto.core.responses"
# The rest of what this reads of moto (its picker, ActionResult, the service models, the settings) is
# resolved and declared by json_answer.
_QUERY_SERIALIZER = registry.register(
    f"{_SERIALIZE}.QuerySerializer", "the serialiser whose answers are written here (others are left to moto)"
)
registry.register(f"{_SERIALIZE}.QuerySerializer.CONTENT_TYPE", "the answer's content type")
registry.register(f"{_SERIALIZE}.BaseXMLSerializer._serialize_body", "xmltodict, short empty elements")
registry.register(f"{_RESPONSES}.BaseResponse._get_action", "the operation whose answer is written")
registry.register(
    f"{_RESPONSES}.BaseResponse.determine_response_protocol", "query, or query-json: moto's serialiser"
)

# What moto's query serialiser writes in the body, for ``_enrich_response`` to replace with the request id.
_REQUEST_ID_PLACEHOLDER = "request-id"
# A structure member: the names moto's picker tries, the element it is written as, its key path.
_Member = tuple[tuple[str, ...], str, str]


class _Operation:
    """An operation's answer: status, content type, the XML around its result and its members (or None:
    an output this does not write)."""

    def __init__(self, service_name: str, operation: str) -> None:
        moto = resolved_moto()
        query_serializer = registry.resolve(_QUERY_SERIALIZER)
        self.service = service = moto.service_model(service_name)
        model = service.operation_model(operation)
        self.status = model.http.get("responseCode", 200)
        self.content_type = query_serializer.CONTENT_TYPE
        self.members: tuple[_Member, ...] | None = None
        output = model.output_shape
        namespace = model.metadata.get("xmlNamespace")
        if (
            moto.serializer_class(service.service_name, "query") is not query_serializer
            or model.has_event_stream_output
            or output is None
            or not isinstance(namespace, str)
        ):
            return
        members = _string_members(output, f"{operation}.{output.name}")
        if members is None:
            return
        self.members = members
        result = output.serialization.get("resultWrapper", f"{output.name}Result")
        response = f"{operation}Response"
        self.open = f"<{response} xmlns={quoteattr(namespace)}><{result}>"
        self.empty = f"<{response} xmlns={quoteattr(namespace)}><{result}/>"
        self.close = (
            f"</{result}><ResponseMetadata><RequestId>{_REQUEST_ID_PLACEHOLDER}</RequestId>"
            f"</ResponseMetadata></{response}>"
        )
        self.close_empty = self.close[len(f"</{result}>") :]


def _string_members(shape: Any, key_path: str) -> tuple[_Member, ...] | None:
    """A structure's members, when every one is a plain string element; else None."""
    members = []
    for key, member in shape.members.items():
        serialization = member.serialization
        if member.type_name != "string" or "xmlNamespace" in serialization or "xmlAttribute" in serialization:
            return None
        names = member_names(shape, key, member)
        members.append((names, serialization.get("name", key), f"{key_path}.{key}"))
    return tuple(members)


class _NotCoveredError(Exception):
    """A value this module does not write as moto would: moto's serialiser writes the answer."""


@functools.cache
def _operation(service_name: str, operation: str) -> _Operation:
    """The operation's answer, worked out once (two threads may both work it out: the same answer)."""
    return _Operation(service_name, operation)


class QueryAnswers:
    """Successes of query-protocol actions written as moto's serialiser writes them (see the module)."""

    def serialized(self, handler: Any, result: Any, moto_serialized: Callable[[Any], Any]) -> Any:
        """``handler.serialized(result)``: written here when covered, else by moto's serialiser."""
        operation = _operation(handler.boto3_service_name, handler._get_action())
        body = self._body(operation, handler, result)
        if body is None:
            return moto_serialized(result)
        headers = {"Content-Type": operation.content_type}
        headers.update(handler.response_headers)
        return operation.status, headers, body

    def _body(self, operation: _Operation, handler: Any, result: Any) -> str | None:
        moto = resolved_moto()
        members = operation.members
        if (
            members is None
            or type(result) is not moto.action_result
            or moto.settings.PRETTIFY_RESPONSES
            or handler.determine_response_protocol(operation.service) != "query"
        ):
            return None
        value = result.result
        if type(value) is not dict:
            return None
        transformers = getattr(handler, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or {}
        try:
            elements = "".join(_element(value, member, transformers) for member in members)
        except _NotCoveredError:
            return None
        if not elements:
            return operation.empty + operation.close_empty
        return operation.open + elements + operation.close


def _element(value: dict[str, Any], member: _Member, transformers: dict[str, Any]) -> str:
    """A member's element as xmltodict writes it (empty text: an empty element), or "" when moto skips it."""
    names, written_as, key_path = member
    if any(key_path.endswith(path) for path in transformers):
        raise _NotCoveredError
    for name in names:
        if name in value:
            item = value[name]
            if item is None:
                return ""
            if type(item) is not str:
                raise _NotCoveredError
            return f"<{written_as}>{escape(item)}</{written_as}>" if item else f"<{written_as}/>"
    return ""
