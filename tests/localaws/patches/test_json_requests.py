"""speedups.json_request_readers: a JSON-protocol body reads into the same parameters as moto's own walk.

Each case parses one body twice, with moto's own walk (the speed-up out) and with the readers (in), and asks
for the same parameters, down to the type of every map and the order of its keys, or for the same error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.model import OperationModel, Shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.parse import BaseJSONParser, JSONParser
from moto.core.utils import get_service_model

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import speedups
from localaws.patches.speedups import json_requests
from tests.helpers.events import load_event
from tests.localaws.support import moto_client as client

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# JSON-protocol services: those the workers call; ECS and SageMaker for documents and floats.
SERVICES = ("dynamodb", "sqs", "kinesis", "ecs", "sagemaker")
ORDER_REQUESTS = load_event("dynamodb_order_requests")["requests"]


def _parse(operation: OperationModel, body: bytes, *, map_type: Any = dict) -> Any:
    """``operation``'s parameters from ``body`` as ``parse_parameters`` reads them, or the error raised."""
    parser = JSONParser(operation, map_type=map_type)  # type: ignore[arg-type]
    request = {"body": body, "method": "POST", "values": {}, "headers": {}, "url_path": "/", "url_params": {}}
    try:
        return parser.parse(request)  # type: ignore[arg-type]
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def _exactly(value: Any) -> Any:
    """``value`` with every container's type and every map's key order made part of what ``==`` compares."""
    if isinstance(value, dict):
        return (type(value), [(key, _exactly(item)) for key, item in value.items()])
    if isinstance(value, list):
        return (list, [_exactly(item) for item in value])
    return (type(value), value)


def _moto_then_readers(operation: OperationModel, body: bytes, *, map_type: Any = dict) -> tuple[Any, Any]:
    json_requests.JSON_REQUEST_READERS.uninstall()
    by_moto = _parse(operation, body, map_type=map_type)
    json_requests.JSON_REQUEST_READERS.install()
    by_readers = _parse(operation, body, map_type=map_type)
    return _exactly(by_moto), _exactly(by_readers)


def _operations() -> Iterator[OperationModel]:
    for service in SERVICES:
        model = get_service_model(service)
        if model.protocol != "json":
            continue
        for name in model.operation_names:
            yield model.operation_model(name)


OPERATIONS = list(_operations())

# Any JSON value, and the odd ones a shape gets wrong: a list for a structure, a number for a blob.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "1", "1.5", "x", "aGVsbG8=", "2026-11-29T13:00:00Z", "1796045147"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
)


@st.composite
def _value_for(draw: st.DrawFn, shape: Shape, depth: int = 0) -> Any:
    """A value for ``shape``: mostly well formed, now and then anything at all."""
    if depth > 4 or draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        chosen = draw(st.lists(st.sampled_from(sorted(members)), max_size=4, unique=True)) if members else []
        built = {
            members[name].serialization.get("name", name): draw(_value_for(members[name], depth + 1))
            for name in chosen
        }
        if draw(st.booleans()):
            built[draw(st.text(max_size=5))] = draw(scalars)  # a member the shape does not have
        return built
    if kind == "list":
        return draw(st.lists(_value_for(shape.member, depth + 1), max_size=3))  # type: ignore[attr-defined]
    if kind == "map":
        return draw(
            st.dictionaries(st.text(max_size=6), _value_for(shape.value, depth + 1), max_size=3)  # type: ignore[attr-defined]
        )
    if kind == "blob":
        return base64.b64encode(draw(st.binary(max_size=8))).decode()
    if kind == "timestamp":
        return draw(
            st.sampled_from([1796045147, 1796045147.5, "2026-11-29T13:00:00Z", "2026-11-29T13:00+01:00"])
        )
    if kind in ("integer", "long"):
        return draw(st.integers(-1000, 1000) | st.sampled_from(["7", "-3"]))
    if kind in ("float", "double"):
        return draw(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(["1.5"]))
    if kind == "boolean":
        return draw(st.booleans())
    return draw(st.text(max_size=12))


@st.composite
def _requests(draw: st.DrawFn) -> tuple[OperationModel, bytes]:
    operation = draw(st.sampled_from(OPERATIONS))
    value = draw(_value_for(operation.input_shape)) if operation.input_shape is not None else {}
    return operation, json.dumps(value).encode()


@pytest.mark.parametrize("request_", ORDER_REQUESTS, ids=[r["operation"] for r in ORDER_REQUESTS])
def test_the_workers_dynamodb_requests_read_as_moto_reads_them(request_: dict[str, Any]) -> None:
    # Given a DynamoDB request the workers sent in an orders run
    operation = get_service_model("dynamodb").operation_model(request_["operation"])
    body = json.dumps(request_["body"]).encode()

    # When moto's walk and the readers read it
    by_moto, by_readers = _moto_then_readers(operation, body)

    # Then the parameters are the same, and they are parameters, not an error
    assert by_readers == by_moto
    assert by_moto[0] is dict
    assert json_requests.readers.counts()["misses"] >= 1  # the readers, not moto's walk, read it


@PROPERTY_SETTINGS
@given(_requests())
def test_any_body_of_any_operation_reads_as_moto_reads_it(request_: tuple[OperationModel, bytes]) -> None:
    # Given any body, well formed or not, for an operation of a JSON-protocol service
    operation, body = request_

    # When moto's walk and the readers read it
    by_moto, by_readers = _moto_then_readers(operation, body)

    # Then both give the same parameters, or the same error
    assert by_readers == by_moto


@pytest.mark.parametrize(
    "body",
    [
        b'{"TableName": "t", "Item": []}',  # a list for a map
        b'{"TableName": "t", "Item": {"k": "S"}}',  # a string for an AttributeValue
        b'{"TableName": "t", "Item": {"k": {"B": "not base64!"}}}',
        b'{"TableName": "t", "Item": {"k": {"L": 5}}}',
        b"[1, 2]",  # not an object at all
        b"not json",
        b"",
    ],
)
def test_a_body_the_shape_does_not_fit_gets_moto_s_own_answer(body: bytes) -> None:
    # Given a PutItem body that does not fit its shape
    operation = get_service_model("dynamodb").operation_model("PutItem")

    # When moto's walk and the readers read it
    by_moto, by_readers = _moto_then_readers(operation, body)

    # Then the same error (moto's, from its own walk), or the same parameters
    assert by_readers == by_moto


def test_another_map_type_is_built_as_moto_builds_it() -> None:
    # Given a parser configured with a map type of its own
    class Ordered(dict):
        pass

    operation = get_service_model("dynamodb").operation_model("PutItem")
    body = json.dumps(ORDER_REQUESTS[0]["body"]).encode()

    # When moto's walk and the readers read the same body
    by_moto, by_readers = _moto_then_readers(operation, body, map_type=Ordered)

    # Then every structure and map is of that type in both
    assert by_readers == by_moto
    assert by_moto[0] is Ordered


def test_a_replaced_handler_keeps_moto_s_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given moto's blob handler replaced (another patch, a moto upgrade)
    speedups.install(["json_request_readers"])
    monkeypatch.setattr(BaseJSONParser, "_parse_blob", lambda self, shape, value: ("blob", value))
    operation = get_service_model("dynamodb").operation_model("PutItem")

    # When a body with a blob is read
    parsed = _parse(operation, b'{"TableName": "t", "Item": {"k": {"B": "aGk="}}}')

    # Then the replaced handler ran: the readers did not read that shape
    assert parsed["Item"]["k"]["B"] == ("blob", "aGk=")


def test_a_parser_of_another_class_keeps_moto_s_walk() -> None:
    # Given a parser class of its own, its structure handler changed
    class Marking(JSONParser):
        def _parse_structure(self, shape: Any, value: Any) -> Any:
            parsed = super()._parse_structure(shape, value)
            return {"marked": True, **parsed} if isinstance(parsed, dict) else parsed

    speedups.install(["json_request_readers"])
    operation = get_service_model("dynamodb").operation_model("GetItem")
    request = {"body": b'{"TableName": "t"}', "method": "POST", "values": {}, "headers": {}, "url_path": "/"}

    # When it parses a body
    parsed = Marking(operation, map_type=dict).parse({**request, "url_params": {}})  # type: ignore[typeddict-item]

    # Then its own handler ran
    assert parsed == {"marked": True, "TableName": "t"}


def test_dynamodb_answers_the_same_through_moto_with_the_readers(stock_moto: None) -> None:
    # Given a table, in stock moto then with the readers in
    answers = []
    for installed in (False, True):
        if installed:
            speedups.install(["json_request_readers"])
        with mock_aws(config=MOTO_CONFIG):
            dynamodb = client("dynamodb")
            dynamodb.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            # When items with every kind of attribute are written, updated and read back
            item = {
                "k": {"S": "a"},
                "n": {"N": "1.50"},
                "b": {"B": b"\x00\x01"},
                "bs": {"BS": [b"x", b"y"]},
                "m": {"M": {"l": {"L": [{"S": "z"}, {"NULL": True}, {"BOOL": False}]}}},
            }
            dynamodb.put_item(TableName="t", Item=item)
            dynamodb.update_item(
                TableName="t",
                Key={"k": {"S": "a"}},
                UpdateExpression="ADD #n :one",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":one": {"N": "2"}},
            )
            got = dynamodb.get_item(TableName="t", Key={"k": {"S": "a"}}, ConsistentRead=True)["Item"]
            answers.append(got)
    # Then the answers are the same, with the readers used
    assert answers[0] == answers[1]
    assert answers[1]["bs"] == {"BS": [b"x", b"y"]}
    assert json_requests.readers.counts()["misses"] == 4  # a reader built for each of the four operations
