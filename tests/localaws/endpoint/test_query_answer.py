"""query_answer writes a query-protocol success byte for byte as moto's serialiser does, or leaves it."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core.responses import ActionResult, EmptyResult
from moto.sns.responses import SNSResponse

from localaws.endpoint.query_answer import QueryAnswers

FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _handler(action: str, *, content_type: str = "JSON") -> SNSResponse:
    """An SNS handler as setup_class leaves it for ``action`` (what the serialiser reads of it)."""
    handler = SNSResponse()
    handler.querystring = {"Action": [action]}
    if content_type == "JSON":
        handler.querystring["ContentType"] = ["JSON"]
    handler.headers = {"Content-Type": FORM}
    handler.response_headers = {"server": "amazon.com"}
    return handler


def _moto(handler: SNSResponse, result: Any) -> Any:
    return SNSResponse.serialized(handler, result)


def _refused(_: Any) -> Any:
    raise AssertionError("moto's serialiser was asked")


@pytest.mark.parametrize(
    "value",
    [
        {"MessageId": "3bbd6a1f-43b9-4a8e-b590-65889cb399b1"},
        {"MessageId": "a & b < c > \"d\" 'e' ]]> é 日本 \u202e"},
        {"MessageId": ""},
        {"MessageId": None},
        {},
        {"message_id": "snake"},
        {"MessageId": "m", "SequenceNumber": "10000000000000000001"},
        {"SequenceNumber": "7", "MessageId": "order of the shape, not the dict", "Other": "ignored"},
        {"MessageId": "first spelling", "message_id": "second spelling"},
    ],
)
def test_publish_success_is_written_as_moto_writes_it(value: dict[str, Any]) -> None:
    # Given a Publish handler and a result moto's serialiser would write
    handler = _handler("Publish", content_type="form")
    # When both write it
    ours = QueryAnswers().serialized(handler, ActionResult(dict(value)), _refused)
    # Then the status, headers and body are the same, byte for byte
    assert ours == _moto(handler, ActionResult(dict(value)))


def test_other_string_outputs_are_written_too() -> None:
    handler = _handler("CreateTopic", content_type="form")
    value = {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t&<>"}
    assert QueryAnswers().serialized(handler, ActionResult(value), _refused) == _moto(
        handler, ActionResult(value)
    )


@pytest.mark.parametrize(
    ("action", "result", "content_type"),
    [
        ("Publish", ActionResult({"MessageId": 7}), "form"),  # not a string: moto's str() and xmltodict
        ("Publish", ActionResult(["MessageId"]), "form"),  # not a dict
        ("Publish", ActionResult(None), "form"),
        ("Publish", EmptyResult(), "form"),  # another result class
        ("Publish", ActionResult({"MessageId": "m"}), "JSON"),  # ContentType=JSON: moto's query-json
        ("ListTopics", ActionResult({"Topics": [{"TopicArn": "a"}]}), "form"),  # a list member
        ("GetTopicAttributes", ActionResult({"Attributes": {"A": True}}), "form"),  # a map, transformed
        ("Unsubscribe", ActionResult({}), "form"),  # no output shape
    ],
)
def test_what_it_does_not_cover_goes_to_moto(action: str, result: Any, content_type: str) -> None:
    # Given an answer this module does not write
    handler = _handler(action, content_type=content_type)
    asked: list[Any] = []

    def moto_serialized(value: Any) -> Any:
        asked.append(value)
        return _moto(handler, value)

    # When it is serialised
    ours = QueryAnswers().serialized(handler, result, moto_serialized)
    # Then moto's serialiser wrote it, whole
    assert asked == [result]
    assert ours == _moto(handler, result)


def test_a_transformer_on_a_member_leaves_the_answer_to_moto() -> None:
    # Given a handler class that transforms Publish's MessageId (as _include_in_response can add)
    class Transforming(SNSResponse):
        RESPONSE_KEY_PATH_TO_TRANSFORMER = {"PublishResponse.MessageId": str.upper}  # noqa: RUF012

    handler = Transforming()
    handler.querystring = {"Action": ["Publish"]}
    handler.headers = {"Content-Type": FORM}
    handler.response_headers = {}
    asked: list[Any] = []

    def moto_serialized(value: Any) -> Any:
        asked.append(value)
        return SNSResponse.serialized(handler, value)

    # When a Publish answer is serialised
    status, _, body = QueryAnswers().serialized(handler, ActionResult({"MessageId": "m"}), moto_serialized)
    # Then moto wrote it, transformed
    assert asked and status == 200
    assert "<MessageId>M</MessageId>" in body
