"""direct_dispatch.moto_request: handlers get the very request moto's normalize_request builds."""

from __future__ import annotations

import datetime
import io
import json
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from moto import mock_aws
from moto.core.request import normalize_request

from localaws.endpoint.defaults import MOTO_CONFIG
from localaws.patches import direct_dispatch
from localaws.patches.direct_dispatch import DirectClient, stats
from tests.localaws.patches.test_direct_dispatch import (  # _fresh: the same clean state around each test
    REGION,
    _fresh,  # noqa: F401 - an autouse fixture, used by being here
    _function_zip,
    make_table,
    task_client,
)


def _environ_view(request: Any) -> list[tuple[str, Any]]:
    """The environ in order, streams by content, the request's back-reference by type."""
    view: list[tuple[str, Any]] = []
    for name, value in request.environ.items():
        if name == "wsgi.input":
            view.append((name, cast(io.BytesIO, value).getvalue()))
        elif name == "werkzeug.request":
            view.append((name, type(value)))
        else:
            view.append((name, value))
    return view


def _what_handlers_read(request: Any) -> dict[str, Any]:
    return {
        "type": type(request),
        "headers": list(request.headers.items()),
        "url": request.url,
        "raw_url": request.raw_url,
        "path": request.path,
        "args": request.args.to_dict(flat=False),
        "data": request.get_data(),
        "form": request.form.to_dict(flat=False),
    }


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every request the fast path builds is compared with moto's own for the same prepared request."""
    seen = {"compared": 0, "from_moto": 0}
    ours = direct_dispatch.moto_request

    def compare(prepared: Any) -> tuple[Any, str]:
        cached_before = len(direct_dispatch._url_environs)
        fast, raw_url = ours(prepared)
        if len(direct_dispatch._url_environs) > cached_before:
            seen["from_moto"] += 1  # the first call for a URL is moto's own request
        expected = normalize_request(prepared)
        assert _environ_view(fast) == _environ_view(expected)
        assert _what_handlers_read(fast) == _what_handlers_read(expected)
        assert raw_url == expected.raw_url
        seen["compared"] += 1
        return ours(prepared)

    monkeypatch.setattr(direct_dispatch, "moto_request", compare)
    return seen


@mock_aws(config=MOTO_CONFIG)
def test_every_covered_service_gets_the_request_moto_would_build(checked: dict[str, int]) -> None:
    # Given one resource of each covered service
    make_table()
    queue = task_client("sqs").create_queue(QueueName="payment")["QueueUrl"]
    topic = task_client("sns").create_topic(Name="order-status")["TopicArn"]
    task_client("kinesis").create_stream(StreamName="order-analytics", ShardCount=1)
    iam = cast(Any, boto3).client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_arn = task_client("lambda").create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _function_zip()},
    )["FunctionArn"]
    ddb, sqs, sns = (DirectClient(task_client(name)) for name in ("dynamodb", "sqs", "sns"))
    kinesis, events, lam = (DirectClient(task_client(name)) for name in ("kinesis", "events", "lambda"))

    # When each covered operation is called twice on the fast path (JSON, query-form and REST bodies, a
    # percent-encoded path)
    for n in range(2):
        ddb.put_item(TableName="orders", Item={"orderId": {"S": f"o-{n}"}, "note": {"S": "é ü"}})
        ddb.get_item(TableName="orders", Key={"orderId": {"S": f"o-{n}"}})
        ddb.update_item(
            TableName="orders",
            Key={"orderId": {"S": f"o-{n}"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "PAID"}},
        )
        ddb.delete_item(TableName="orders", Key={"orderId": {"S": f"o-{n}"}})
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"n": n, "text": "ünïcode & = +"}))
        sns.publish(TopicArn=topic, Message=f"placed & paid = {n}", Subject="a b")
        kinesis.put_record(StreamName="order-analytics", Data=b"\x00{}", PartitionKey=f"o-{n}")
        events.put_events(Entries=[{"Source": "orderflow", "DetailType": "T", "Detail": "{}"}])
        lam.invoke(FunctionName="orders", Payload=json.dumps({"n": n}))
        lam.invoke(FunctionName=function_arn, Payload=b"{}")

    # Then every request equals moto's own, environ and all, and the second round was built here
    assert stats.snapshot() == {"direct": 20, "fallback": {}}
    assert checked["compared"] == 20
    # one per (method, URL): DynamoDB's four operations share one, SQS's queue URL is in its JSON body
    assert checked["from_moto"] == 7


@mock_aws(config=MOTO_CONFIG)
def test_an_empty_body_takes_moto_own_path() -> None:
    # Given a prepared request without a body
    prepared = AWSRequest(method="POST", url="https://lambda.us-east-1.amazonaws.com/x", data=b"").prepare()

    # When the fast path builds it, twice
    (first, first_url), (second, _) = (
        direct_dispatch.moto_request(prepared),
        direct_dispatch.moto_request(prepared),
    )

    # Then both are moto's own and nothing was kept for the URL
    assert _environ_view(first) == _environ_view(second) == _environ_view(normalize_request(prepared))
    assert first_url == "https://lambda.us-east-1.amazonaws.com/x"
    assert direct_dispatch._url_environs == {}


def test_the_credential_scope_day_is_today_in_utc_across_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the clock just before, at and after a UTC midnight, and now
    midnight = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC).timestamp()
    days = []
    for moment in (midnight - 0.001, midnight, midnight + 86399.999):
        monkeypatch.setattr(direct_dispatch, "_clock", lambda moment=moment: moment)
        days.append(direct_dispatch.utc_day())
    monkeypatch.undo()

    # Then each is that moment's UTC date, as strftime gives it; and now is today
    assert days == ["20261127", "20261128", "20261128"]
    assert direct_dispatch.utc_day() == datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
