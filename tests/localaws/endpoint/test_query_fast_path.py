"""The query fast path answers SNS Publish over HTTP exactly as the lean path does, call for call.

The same form bodies (as botocore's query serialiser and ``AWSRequest`` write them, and a few by hand) go to
the endpoint in two worlds reset and seeded alike, the fast path off then on; the status, every header but
the date (in order, the request id by its form) and the body (message and request ids by their form) must
be the same, errors included (message attributes good and bad, FIFO topics with and without group and
deduplication ids, a missing topic, bad parameters, a subject, ``MessageStructure=json``, an over-size
message, SMS numbers), and the fast path must have answered the Publish calls it covers.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any
from urllib.parse import urlencode

import botocore.serialize
import botocore.session
import pytest
from moto.core.responses import BaseResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from localaws.endpoint import form_body, query_fast_path
from localaws.endpoint.server import LocalEndpoint
from localaws.patches import speedups
from tests.localaws.endpoint.test_sfn_fast_path import (
    comparable,
    middleware_of,
    same_answers_off_and_on,
)

ACCOUNT = "123456789012"
_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/sns/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_REQUEST_ID = re.compile(r"<RequestId>[A-Za-z0-9]{52}</RequestId>")
_SEQUENCE = re.compile(r"<SequenceNumber>[0-9]+</SequenceNumber>")
_SNS = botocore.session.get_session().get_service_model("sns")
_SERIALIZER = botocore.serialize.create_serializer("query", include_validation=False)


def botocore_body(operation: str, params: dict[str, Any]) -> bytes:
    """The body botocore sends for ``params`` (its query serialiser, then ``AWSRequest``'s urlencoding)."""
    request = _SERIALIZER.serialize_to_request(params, _SNS.operation_model(operation))
    items = [(str(k).encode(), str(v).encode()) for k, v in request["body"].items()]
    return urlencode(items, doseq=True).encode()


class World:
    """A freshly reset and seeded moto with a standard and a FIFO topic; the answers recorded, each with how
    many of its calls the fast path answered."""

    def __init__(self, endpoint: LocalEndpoint, fast: query_fast_path.QueryFastPath) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
        self.fast = fast
        self.answers: list[tuple[str, tuple[Any, ...]]] = []
        for path in ("/moto-api/reset", "/moto-api/seed?a=42"):
            self.connection.request("POST", path)
            self.connection.getresponse().read()
            speedups.clear_caches()
        self.topic = self._ok("CreateTopic", {"Name": "orders"}, "TopicArn")
        self.fifo = self._ok(
            "CreateTopic", {"Name": "orders.fifo", "Attributes": {"FifoTopic": "true"}}, "TopicArn"
        )
        self.quiet = self._ok("CreateTopic", {"Name": "quiet"}, "TopicArn")
        # What each topic delivered, raw, so that a message, subject or attribute read wrongly shows.
        self.taps = [self._tap(self.topic, "tap"), self._tap(self.fifo, "tap.fifo")]

    def _sqs(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        self.connection.request(
            "POST",
            "/",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": f"AmazonSQS.{operation}",
                "Authorization": _AUTH.replace("/sns/", "/sqs/"),
            },
        )
        answer: dict[str, Any] = json.loads(self.connection.getresponse().read() or b"{}")
        return answer

    def _tap(self, topic: str, name: str) -> str:
        attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
        url = str(self._sqs("CreateQueue", {"QueueName": name, "Attributes": attributes})["QueueUrl"])
        arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
        subscription = {"TopicArn": topic, "Protocol": "sqs", "Endpoint": arn}
        self._ok(
            "Subscribe", {**subscription, "Attributes": {"RawMessageDelivery": "true"}}, "SubscriptionArn"
        )
        return url

    def delivered(self) -> None:
        """Every message the topics delivered: body, attributes, FIFO group and deduplication ids."""
        for url in self.taps:
            messages = []
            while True:
                received = self._sqs(
                    "ReceiveMessage",
                    {
                        "QueueUrl": url,
                        "MaxNumberOfMessages": 10,
                        "MessageAttributeNames": ["All"],
                        "AttributeNames": ["MessageGroupId", "MessageDeduplicationId"],
                    },
                ).get("Messages", [])
                if not received:
                    break
                for message in received:
                    messages.append(
                        (message["Body"], message.get("MessageAttributes"), message["Attributes"])
                    )
                    self._sqs("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})
            self.answers.append(
                (f"delivered to {url.rpartition('/')[2]}", (json.dumps(messages), len(messages), 0))
            )

    def _send(self, body: bytes, content_type: str) -> tuple[int, list[tuple[str, str]], bytes]:
        self.connection.request(
            "POST", "/", body=body, headers={"Content-Type": content_type, "Authorization": _AUTH}
        )
        response = self.connection.getresponse()
        return response.status, response.getheaders(), response.read()

    def _ok(self, operation: str, params: dict[str, Any], member: str) -> str:
        status, _, content = self._send(botocore_body(operation, params), query_fast_path.FORM_CONTENT_TYPE)
        assert status == 200, content
        found = re.search(rf"<{member}>([^<]+)</{member}>", content.decode())
        assert found is not None, content
        return found.group(1)

    def raw(self, label: str, body: bytes, content_type: str = query_fast_path.FORM_CONTENT_TYPE) -> None:
        before = self.fast.fast_requests
        status, headers, content = self._send(body, content_type)
        text = _SEQUENCE.sub("<seq/>", _REQUEST_ID.sub("<rid/>", _UUID.sub("<uuid>", content.decode())))
        shown = comparable((status, headers, text.encode()))
        self.answers.append((label, (*shown, self.fast.fast_requests - before)))

    def publish(self, label: str, **params: Any) -> None:
        self.raw(label, botocore_body("Publish", params))


def _publishes(w: World) -> None:
    topic, fifo = w.topic, w.fifo
    w.publish("plain", TopicArn=topic, Message='{"orderId": "o-1", "event": "captured"}')
    w.publish("subject", TopicArn=topic, Message="m", Subject="Low stock: SKU & <1>")
    w.publish("unicode", TopicArn=topic, Message="é 日本 \u202e +%&=", Subject="ü")
    w.publish(
        "attributes",
        TopicArn=topic,
        Message="m",
        MessageAttributes={
            "event": {"DataType": "String", "StringValue": "captured"},
            "orderValue": {"DataType": "Number", "StringValue": "44.98"},
            "kind": {"DataType": "String.custom", "StringValue": "x"},
        },
    )
    # moto's SQS cannot take a binary attribute from SNS's raw delivery (it hashes a str): an untapped topic
    w.publish(
        "binary attribute",
        TopicArn=w.quiet,
        Message="m",
        MessageAttributes={"raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    )
    w.publish(
        "attribute, not a number",
        TopicArn=topic,
        Message="m",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}},
    )
    w.publish(
        "attribute, bad type",
        TopicArn=topic,
        Message="m",
        MessageAttributes={"n": {"DataType": "Date", "StringValue": "x"}},
    )
    w.publish(
        "attribute, empty value",
        TopicArn=topic,
        Message="m",
        MessageAttributes={"n": {"DataType": "String", "StringValue": ""}},
    )
    w.publish("missing topic", TopicArn=topic + "-gone", Message="m")
    w.publish("target arn", TargetArn=topic, Message="m")
    w.publish("no message", TopicArn=topic)
    w.publish("no topic", Message="m")
    w.publish(
        "json structure", TopicArn=topic, Message='{"default": "d", "sqs": "s"}', MessageStructure="json"
    )
    w.publish("json structure, no default", TopicArn=topic, Message='{"sqs": "s"}', MessageStructure="json")
    w.publish("json structure, not json", TopicArn=topic, Message="{", MessageStructure="json")
    w.publish("over 256 KiB", TopicArn=topic, Message="x" * 262_145)
    w.publish("fifo", TopicArn=fifo, Message="m", MessageGroupId="g", MessageDeduplicationId="d")
    w.publish(
        "fifo, same dedup id", TopicArn=fifo, Message="m", MessageGroupId="g", MessageDeduplicationId="d"
    )
    w.publish("fifo, no group", TopicArn=fifo, Message="m", MessageDeduplicationId="d2")
    w.publish("fifo, no dedup id", TopicArn=fifo, Message="m", MessageGroupId="g")
    w.publish("group id on a standard topic", TopicArn=topic, Message="m", MessageGroupId="g")
    w.publish("sms", PhoneNumber="+447700900123", Message="hi")
    w.publish("sms, not e164", PhoneNumber="07700 900123", Message="hi")


def _by_hand(w: World) -> None:
    topic = w.topic.replace(":", "%3A")
    w.raw("repeated fields", f"Action=Publish&TopicArn={topic}&Message=a&Message=b&TopicArn=x".encode())
    w.raw("blank subject", f"Action=Publish&TopicArn={topic}&Message=a&Subject=".encode())
    w.raw("undecodable escape", f"Action=Publish&TopicArn={topic}&Message=%FF%FEok".encode())
    w.raw("not utf-8", f"Action=Publish&TopicArn={topic}&Message=\xff".encode("latin-1"))
    w.raw("a field named key", f"Action=Publish&TopicArn={topic}&Message=a&key=k".encode())
    w.raw("unknown action", b"Action=PublishSomething&Message=a")
    w.raw("no action", f"TopicArn={topic}&Message=a".encode())
    w.raw("other content type", f"Action=Publish&TopicArn={topic}&Message=a".encode(), "text/plain")
    w.raw(
        "batch (not covered)",
        botocore_body(
            "PublishBatch",
            {"TopicArn": w.topic, "PublishBatchRequestEntries": [{"Id": "1", "Message": "a"}]},
        ),
    )


def fast_path_of(endpoint: LocalEndpoint) -> query_fast_path.QueryFastPath:
    return middleware_of(endpoint, query_fast_path.QueryFastPath)


def world(endpoint: LocalEndpoint) -> list[tuple[str, tuple[Any, ...]]]:
    w = World(endpoint, fast_path_of(endpoint))
    _publishes(w)
    _by_hand(w)
    w.delivered()
    return w.answers


def test_fast_path_answers_publish_exactly_as_the_lean_path(fast_endpoint: LocalEndpoint) -> None:
    # Given the endpoint, its query fast path off, then on, in worlds reset and seeded alike
    # When the same calls are made
    # Then every answer is the same: status, headers, body, what the topics delivered; errors included
    lean, quick = same_answers_off_and_on(query_fast_path.SNS_HTTP, lambda: world(fast_endpoint))
    # And the fast path took every Publish but those it leaves to the lean path, and none of the first world
    not_taken = {label for label, answer in quick if answer[-1] != 1 and not label.startswith("delivered")}
    assert not_taken == {
        "not utf-8",
        "a field named key",
        "unknown action",
        "no action",
        "other content type",
        "batch (not covered)",
    }
    assert {answer[-1] for _, answer in lean} == {0}
    statuses = {label: answer[0] for label, answer in quick}
    assert statuses["plain"] == statuses["attributes"] == statuses["fifo"] == statuses["sms"] == 200
    assert statuses["missing topic"] == 404
    assert statuses["attribute, not a number"] == statuses["fifo, no group"] == 400
    assert statuses["over 256 KiB"] == statuses["sms, not e164"] == statuses["attribute, bad type"] == 400
    # And the topics delivered the messages (the same ones: above)
    delivered = {label: answer[1] for label, answer in quick if label.startswith("delivered")}
    assert delivered == {"delivered to tap": 13, "delivered to tap.fifo": 1}
    # moto answers a Publish with no message 500 (its backend takes the length of None): on both paths
    assert statuses["no message"] == 500


@pytest.mark.parametrize(
    "body",
    [
        b"Action=Publish&Message=a+b%20c&Message=second&Blank=&NoValue",
        b"Action=Publish&Message=%FF%FE%zz&Other=%E2%82%AC",
        b"a=1;b=2&c=%3D%26",
        b"",
        "Message=é".encode(),
    ],
)
def test_form_fields_are_read_as_werkzeug_reads_them(body: bytes) -> None:
    # Given a form POST
    environ = EnvironBuilder(
        method="POST", data=body, content_type=query_fast_path.FORM_CONTENT_TYPE
    ).get_environ()
    # When its fields are parsed here, and by werkzeug's request
    fields = form_body.form_fields(environ)
    form = Request(environ).form  # reads the body the parse put back
    # Then they are the same fields, in order, repeats included; and kept for the next reader
    assert fields == list(form.items(multi=True))
    assert form_body.form_fields(environ) is fields


def test_a_body_werkzeug_reads_no_form_from_has_no_fields() -> None:
    # Given a form POST whose body is not UTF-8, and a POST that is not a form
    bad = EnvironBuilder(
        method="POST", data=b"Message=\xff", content_type=query_fast_path.FORM_CONTENT_TYPE
    ).get_environ()
    json_post = EnvironBuilder(method="POST", data=b"{}", content_type="application/json").get_environ()
    # Then neither has fields here, and werkzeug reads no form from the first either
    assert form_body.form_fields(bad) is None
    assert not Request(bad).form
    assert form_body.form_fields(json_post) is None


# What setup_class leaves on the handler, compared field by field (``normalized_request`` aside: the fast
# paths set None, which moto reads only to find an action from a REST route).
_SET_UP_FIELDS = (
    "is_werkzeug_request",
    "uri",
    "path",
    "raw_path",
    "body",
    "raw_body",
    "querystring",
    "data",
    "method",
    "region",
    "partition",
    "uri_match",
    "access_key",
    "current_account",
    "params",
)


def test_the_handler_is_set_up_as_setup_class_sets_it_up(
    fast_endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the handler's state recorded as call_action begins, on the lean path and on the fast path
    seen: list[dict[str, Any]] = []
    call_action = BaseResponse.call_action

    def recording(handler: Any) -> Any:
        state = {name: getattr(handler, name) for name in _SET_UP_FIELDS}
        state["headers"] = dict(handler.headers)
        state["parsed_url"] = tuple(handler.parsed_url)
        state["form_data"] = (type(handler.form_data), list(handler.form_data.items(multi=True)))
        state["response_headers"] = dict(handler.response_headers)
        seen.append(state)
        return call_action(handler)

    monkeypatch.setattr(BaseResponse, "call_action", recording)
    w = World(fast_endpoint, fast_path_of(fast_endpoint))
    topic = w.topic.replace(":", "%3A")
    bodies = [
        botocore_body(
            "Publish",
            {
                "TopicArn": w.topic,
                "Message": '{"orderId": "o-1"}',
                "Subject": "s & t",
                "MessageAttributes": {"event": {"DataType": "String", "StringValue": "captured"}},
            },
        ),
        botocore_body("Publish", {"TopicArn": w.fifo, "Message": "m", "MessageGroupId": "g"}),
        f"Action=Publish&TopicArn={topic}&Message=a&Message=b&Subject=&Odd=%FF".encode(),
    ]
    for body in bodies:
        # When the same Publish is made with the fast path off, then on
        states = []
        for switch in (query_fast_path.SNS_HTTP.uninstall, query_fast_path.SNS_HTTP.install):
            switch()
            seen.clear()
            w.raw("publish", body)
            states.append(seen[-1])
        # Then the handler held the same request, field by field
        assert states[0] == states[1]
    assert [answer[-1] for _, answer in w.answers] == [0, 1] * len(bodies)
