"""The workers' botocore shortcuts give byte for byte what botocore gives without them."""

from __future__ import annotations

import datetime
import email.policy
import importlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore import auth, awsrequest, context, regions, useragent
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import UnknownEndpointResolutionBuiltInName
from botocore.useragent import register_feature_id

from localaws.lambda_ import sdk_speedups

ORIGINAL_TO_STRING = useragent.UserAgentString.to_string


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise AssertionError(f"{dotted} does not resolve")


def test_every_botocore_internal_used_is_where_it_was() -> None:
    for dotted in sdk_speedups.BOTOCORE_INTERNALS:
        assert callable(_resolve(dotted)) or isinstance(_resolve(dotted), property | list), dotted
    # An instance of each owner, as botocore makes it, with the attribute's expected value
    signer = auth.SigV4Auth(Credentials("testing", "testing"), "dynamodb", "us-east-1")
    headers = HTTPHeaders()
    headers["Host"] = "h"
    request = AWSRequest("POST", "http://127.0.0.1:1/")
    resolver = _session().client("s3", config=Config(s3={"addressing_style": "path"}))._ruleset_resolver  # type: ignore[attr-defined]
    expected = {
        "_region_name": (signer, "us-east-1"),
        "_service_name": (signer, "dynamodb"),
        "_headers": (headers, [("Host", "h")]),
        "policy": (headers, email.policy.compat32),
        "_request_preparer": (request, request._request_preparer),  # type: ignore[attr-defined]
        "_dict": (awsrequest.HeadersDict({"A": "1"}), {awsrequest._HeaderKey("a"): "1"}),
        "_param_definitions": (resolver, resolver._provider.ruleset.parameters),
        "_client_context": (resolver, {"addressing_style": "path", "disable_s3_express_session_auth": False}),
    }
    for dotted in sdk_speedups.BOTOCORE_ATTRIBUTES:
        owner, _, attribute = dotted.rpartition(".")
        instance, value = expected[attribute]
        assert isinstance(instance, _resolve(owner)), dotted
        assert getattr(instance, attribute) == value, dotted
    assert type(request._request_preparer) is awsrequest.AWSRequestPreparer  # type: ignore[attr-defined]


def _creator(client: Any) -> useragent.UserAgentString:
    creator: useragent.UserAgentString = client._user_agent_creator
    return creator


def _clients() -> list[Any]:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    extra = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    extra._session.user_agent_extra = "session-extra/1"
    # botocore-stubs' Config lags botocore's: it has no user_agent_appid
    with_app_id = Config(user_agent_extra="extra/2", user_agent_appid="my app#1")  # type: ignore[call-arg]
    return [
        session.client("sqs", endpoint_url="http://127.0.0.1:1"),
        session.client("dynamodb", config=Config(retries={"mode": "adaptive"})),
        session.client("events", config=with_app_id),
        session.client("sns", config=Config(user_agent="legacy/3")),
        extra.client("stepfunctions"),
    ]


def test_the_user_agent_is_botocores_for_every_client_config_and_feature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given clients with different User-Agent settings, and the cached to_string
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    clients = _clients()
    cached = sdk_speedups.cached_to_string(ORIGINAL_TO_STRING, context.get_context)
    seen: set[str] = set()

    # When each builds its string with no request context, then with features registered as calls go
    for client in clients:
        creator = _creator(client)
        assert cached(creator) == ORIGINAL_TO_STRING(creator)
        with context.start_as_current_context():
            for feature in ("RETRY_MODE_STANDARD", "WAITER", "PAGINATOR", "RETRY_MODE_STANDARD"):
                register_feature_id(feature)
                # Then each is botocore's own, asked twice (built, then kept)
                expected = ORIGINAL_TO_STRING(creator)
                assert cached(creator) == expected
                assert cached(creator) == expected
                seen.add(expected)

    # And the strings differ where botocore's do (three feature sets; a legacy ``user_agent`` names none):
    # nothing kept was served for other inputs
    assert len(seen) == (len(clients) - 1) * 3 + 1
    assert all("exec-env/AWS_Lambda_python3.12" in ua for ua in seen if not ua.startswith("legacy/3"))


def test_a_changed_input_builds_a_new_string() -> None:
    # Given a client whose string was kept
    client = _clients()[0]
    creator = _creator(client)
    cached = sdk_speedups.cached_to_string(ORIGINAL_TO_STRING, context.get_context)
    before = cached(creator)

    # When its config and session fields change
    creator._client_config = client.meta.config.merge(Config(user_agent_extra="changed/2"))  # type: ignore[attr-defined]
    creator._session_user_agent_extra = "later/1"  # type: ignore[attr-defined]

    # Then the string follows, as botocore's does
    after = cached(creator)
    assert after != before
    assert after == ORIGINAL_TO_STRING(creator)
    assert after.endswith("later/1 changed/2")


_REQUEST_HEADERS = """
import json, sys
from localaws.lambda_ import sdk_channel, sdk_speedups
if sys.argv[1] == "on":
    sdk_channel.when_botocore_loads(lambda _: sdk_speedups.install())
import boto3, botocore.auth, botocore.useragent
seen = []
signed = []
def answer(request, **_):
    seen.append(request.headers["User-Agent"].decode())
    signed.append(request.headers["Authorization"].decode().split("Signature=")[0])
    return botocore.awsrequest.AWSResponse(request.url, 200, {}, None)
client = boto3.client("sqs", endpoint_url="http://127.0.0.1:1")
client.meta.events.register("before-send", answer)
for _ in range(3):
    try:
        client.list_queues()
    except Exception:
        pass
patched = hasattr(botocore.useragent.UserAgentString.to_string, "__wrapped__")
signing = hasattr(botocore.auth.SigV4Auth.signature, "__wrapped__")
print(json.dumps({"patched": patched, "signing": signing, "user_agents": seen, "signed": signed}))
"""


def _worker_like(mode: str) -> dict[str, Any]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": os.getcwd(),
        # botocore joins the feature ids in a set's order, which follows the process's string hashes
        "PYTHONHASHSEED": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", _REQUEST_HEADERS, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_a_worker_sends_the_user_agent_botocore_sends() -> None:
    # Given two fresh processes as a worker starts them, one with the shortcut put in before botocore loads
    plain, shortcut = _worker_like("off"), _worker_like("on")

    # Then only the second has it, and each request carries the very same User-Agent
    assert (plain["patched"], shortcut["patched"]) == (False, True)
    assert (plain["signing"], shortcut["signing"]) == (False, True)
    # (the credential scope and the signed headers are the same; the signatures follow the clock)
    assert len(shortcut["signed"]) == 3
    assert [value.split("/", 2)[2] for value in shortcut["signed"]] == [
        value.split("/", 2)[2] for value in plain["signed"]
    ]
    assert len(shortcut["user_agents"]) == 3
    assert shortcut["user_agents"] == plain["user_agents"]
    assert "exec-env/AWS_Lambda_python3.12" in shortcut["user_agents"][0]


# -- SigV4 ---------------------------------------------------------------------------------------------

_ORIGINAL_SIGNING = {
    name: getattr(auth.SigV4Auth, name)
    for name in ("add_auth", "headers_to_sign", "signature", "canonical_headers")
}
_ORIGINAL_HEADERS_DICT_INIT = awsrequest.HeadersDict.__init__
_ORIGINAL_HOST = auth._host_from_url  # type: ignore[attr-defined]
_ORIGINAL_BODY = AWSRequest.body


def _put_shortcuts() -> None:
    sdk_speedups.install_signing(auth.SigV4Auth, (auth.SigV4Auth, auth.S3SigV4Auth))
    sdk_speedups.install_request_inputs(auth, awsrequest)


def _take_shortcuts_out() -> None:
    for name, original in _ORIGINAL_SIGNING.items():
        setattr(auth.SigV4Auth, name, original)
    auth._host_from_url = _ORIGINAL_HOST  # type: ignore[attr-defined]
    AWSRequest.body = _ORIGINAL_BODY  # type: ignore[method-assign]
    awsrequest.HeadersDict.__init__ = _ORIGINAL_HEADERS_DICT_INIT  # type: ignore[method-assign]


@pytest.fixture
def shortcut_signing() -> Iterator[None]:
    _put_shortcuts()
    try:
        yield
    finally:
        _take_shortcuts_out()


def _requests() -> list[AWSRequest]:
    json_headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}
    return [
        AWSRequest("POST", "http://127.0.0.1:4566/", data=b'{"TableName":"t"}', headers=json_headers),
        AWSRequest("POST", "http://localhost:4566/", data=b"Action=ListQueues&Version=2012-11-05"),
        AWSRequest(
            "GET", "http://127.0.0.1:4566/bucket/key?list-type=2&prefix=a", headers={"Range": "bytes=0-1"}
        ),
        AWSRequest("PUT", "http://127.0.0.1:4566/bucket/key", data=b"x" * 70_000, params={"tagging": ""}),
        AWSRequest("POST", "http://127.0.0.1:4566/", data=b"", headers={"Host": "sync-states.example:1"}),
        # text bodies, a body read from a file, a form body, IPv6 and default-port URLs, a header value that
        # is not ASCII, a header given twice under two spellings, spaces that the canonical form folds
        AWSRequest(
            "POST",
            "http://[::1]:4566/",
            data='{"Message":"caf\u00e9"}',
            headers={"X-Amz-Meta-A": "caf\u00e9"},
        ),
        AWSRequest("POST", "https://user@Example.COM:443/", data=io.BytesIO(b"streamed body"), params={}),
        AWSRequest("POST", "http://example.com:80/", data={"Action": "Publish", "Message": "a b"}),
        _twice_spelled(
            AWSRequest("POST", "http://127.0.0.1:4566/", data=b"{}", headers={"X-Amz-Target": "A.B"})
        ),
    ]


def _twice_spelled(request: AWSRequest) -> AWSRequest:
    request.headers["X-Custom"] = "  one   two "
    request.headers["x-custom"] = "three"
    request.headers["User-Agent"] = "botocore/1"  # not signed (botocore's blacklist), as X-Amzn-Trace-Id
    request.headers["X-Amzn-Trace-Id"] = "Root=1-2-3"
    return request


def _signed(signer: auth.BaseSigner, when: datetime.datetime, request: AWSRequest) -> tuple[Any, ...]:
    with mock.patch.object(auth, "get_current_datetime", return_value=when):
        signer.add_auth(request)
    prepared = request.prepare()  # what goes on the wire
    return (
        request.method,
        prepared.url,
        sorted(request.headers.items()),
        sorted(prepared.headers.items()),
        _contents(request.body),
        _contents(prepared.body),
    )


def _contents(body: Any) -> Any:
    """A body to compare: a file's bytes and position, not the file object."""
    return (body.getvalue(), body.tell()) if isinstance(body, io.BytesIO) else body


def _signers(secret: str, token: str | None) -> list[auth.BaseSigner]:
    credentials = Credentials("AKIDEXAMPLE", secret, token)
    return [
        auth.SigV4Auth(credentials, "dynamodb", "us-east-1"),
        auth.SigV4Auth(credentials, "sqs", "eu-west-1"),
        auth.S3SigV4Auth(credentials, "s3", "us-east-1"),
        auth.SigV4QueryAuth(credentials, "sqs", "us-east-1"),
        auth.S3SigV4QueryAuth(credentials, "s3", "us-west-2"),
    ]


def test_signing_gives_botocores_bytes(shortcut_signing: None) -> None:
    # Given requests signed by botocore's own methods, for several signers, secrets, tokens and days
    days = [datetime.datetime(2026, 11, 29, 3, 4, 5), datetime.datetime(2026, 11, 30, 0, 0, 1)]
    cases = [
        (secret, token, index, when)
        for secret in ("testing", "other")
        for token in (None, "session-token")
        for index in range(5)
        for when in days
    ]
    assert hasattr(auth.SigV4Auth.signature, "__wrapped__")

    def sign_all(shortcut: bool) -> list[list[tuple[Any, ...]]]:
        if not shortcut:
            _take_shortcuts_out()
        else:
            _put_shortcuts()
        answers = []
        for secret, token, index, when in cases:
            signer = _signers(secret, token)[index]
            # (the query-string signers move the body into the URL: botocore takes no body it cannot parse)
            requests = [r for r in _requests() if not r.data or not isinstance(signer, auth.SigV4QueryAuth)]
            answers.append([_signed(signer, when, request) for request in requests])
        return answers

    # When the same are signed with the shortcuts (twice: keys derived, then kept) and without
    with_shortcuts = sign_all(shortcut=True)
    again = sign_all(shortcut=True)
    plain = sign_all(shortcut=False)

    # Then every method, URL, header and body is the same, and the signatures differ where they should
    assert with_shortcuts == plain
    assert again == plain
    # (each case differs from every other by its secret, token, signer or day: no kept key served another)
    assert len({repr(answer) for answer in with_shortcuts}) == len(cases)


def test_a_signer_resigning_the_same_request_builds_its_headers_again(shortcut_signing: None) -> None:
    # Given a request signed once (as a retry does: the same request object, signed again)
    signer = auth.SigV4Auth(Credentials("AKIDEXAMPLE", "testing"), "dynamodb", "us-east-1")
    request = _requests()[0]
    first = _signed(signer, datetime.datetime(2026, 11, 29, 3, 4, 5), request)

    # When a header is added and it is signed again, a second later
    request.headers["X-Amz-Extra"] = "1"
    second = dict(_signed(signer, datetime.datetime(2026, 11, 29, 3, 4, 6), request)[2])

    # Then the new header is signed (the headers map of the first signing was not kept)
    assert "x-amz-extra" in second["Authorization"]
    assert second["Authorization"] != dict(first[2])["Authorization"]
    assert second["X-Amz-Date"] == "20261129T030406Z"


def test_what_the_shortcuts_do_not_cover_takes_botocores_path(
    shortcut_signing: None,
) -> None:
    # Given the shortcuts in
    assert hasattr(auth.SigV4Auth.canonical_headers, "__wrapped__")
    assert hasattr(auth.SigV4Auth.headers_to_sign.__wrapped__, "__wrapped__")  # type: ignore[attr-defined]
    assert hasattr(auth._host_from_url, "__wrapped__")  # type: ignore[attr-defined]
    assert hasattr(AWSRequest.body.fget, "__wrapped__")  # type: ignore[attr-defined]
    signer = auth.SigV4Auth(Credentials("AKIDEXAMPLE", "testing"), "dynamodb", "us-east-1")

    # When botocore's header map holds a value that is not ASCII and one given under two spellings,
    # and when the map is some other mapping
    headers = HTTPHeaders()
    headers["b"] = "  x   y "
    headers["A"] = "caf\u00e9"
    headers["a"] = "2"
    other = type("OtherHeaders", (HTTPHeaders,), {})()
    other["b"] = "1"

    # Then each canonical form is botocore's
    original = _ORIGINAL_SIGNING["canonical_headers"]
    assert signer.canonical_headers(headers) == original(signer, headers)
    del headers["A"]  # (both spellings)
    headers["A"] = "1"
    headers["a"] = "2"
    assert signer.canonical_headers(headers) == original(signer, headers) == "A:1,2\na:1,2\nb:x y"
    assert signer.canonical_headers(other) == original(signer, other)

    # And a body read from a file is read as botocore reads it, and left where it was
    body = io.BytesIO(b"0123456789")
    body.seek(3)
    request = AWSRequest("PUT", "http://127.0.0.1:1/b/k", data=body)
    assert request.body is body
    assert body.tell() == 3
    assert AWSRequest("POST", "http://127.0.0.1:1/", data="caf\u00e9").body == "caf\u00e9".encode()
    assert AWSRequest("POST", "http://127.0.0.1:1/", data=b"").body is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566/",
        "http://127.0.0.1:80/x",
        "https://Example.COM:443/",
        "https://user:pw@example.com:8443/p?q=1",
        "http://[::1]:4566/",
        "http://[fe80::1]/",
    ],
)
def test_the_host_is_botocores_for_every_url_and_kept_per_url(url: str) -> None:
    host = sdk_speedups.kept_host(_ORIGINAL_HOST)
    assert host(url) == _ORIGINAL_HOST(url)
    assert host(url) == _ORIGINAL_HOST(url)  # the kept answer
    assert host(url + "#other") == _ORIGINAL_HOST(url + "#other")


def _headers_dicts() -> list[awsrequest.HeadersDict]:
    http_headers = HTTPHeaders()
    http_headers["X-One"] = "1"
    http_headers["x-one"] = "2"
    http_headers["Content-Type"] = "application/json"
    subclass = type("SubHeaders", (awsrequest.HeadersDict,), {})
    return [
        awsrequest.HeadersDict(http_headers.items()),  # a list of pairs, a name given twice
        awsrequest.HeadersDict({"Content-Length": "2", "x-amzn-RequestId": "r"}),  # a plain dict
        awsrequest.HeadersDict([]),
        awsrequest.HeadersDict(),
        awsrequest.HeadersDict(http_headers.items(), Extra="e"),  # keywords
        awsrequest.HeadersDict(awsrequest.HeadersDict({"A": "1"}).items()),  # an items view
        subclass([("A", "1"), ("a", "2")]),
    ]


def _contents_of(headers: awsrequest.HeadersDict) -> list[tuple[str, str, str]]:
    return [(type(headers).__name__, repr(key), value) for key, value in headers._dict.items()]  # type: ignore[attr-defined]


def test_a_headers_dict_filled_in_one_pass_is_botocores(shortcut_signing: None) -> None:
    # Given the maps botocore builds, with the one-pass fill in and without
    assert hasattr(awsrequest.HeadersDict.__init__, "__wrapped__")
    with_shortcut = [_contents_of(headers) for headers in _headers_dicts()]
    _take_shortcuts_out()
    plain = [_contents_of(headers) for headers in _headers_dicts()]

    # Then each holds the same keys, spelled the same, in the same order, with the same values
    assert with_shortcut == plain
    assert plain[0] == [
        ("HeadersDict", "'X-One'", "2"),
        ("HeadersDict", "'Content-Type'", "application/json"),
    ]
    # And a source that is not pairs fails as botocore's does
    _put_shortcuts()
    with pytest.raises(ValueError):
        awsrequest.HeadersDict(["abc"])


# -- the endpoint rules' inputs ------------------------------------------------------------------------

_ORIGINAL_PROVIDER_PARAMS = regions.EndpointRulesetResolver._get_provider_params  # type: ignore[attr-defined]

# (service, client keywords, operation, input): static and dynamic context parameters, JMESPath ones over the
# input (DynamoDB's ResourceArnList), client context ones (S3's path style), the S3 hook that changes the
# builtins, and an account id builtin from the credentials
_ENDPOINT_CALLS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("dynamodb", {}, "GetItem", {"TableName": "orders", "Key": {"id": {"S": "1"}}}),
    ("dynamodb", {}, "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "t", "Item": {}}}]}),
    ("dynamodb", {}, "BatchGetItem", {"RequestItems": {"a": {"Keys": []}, "b": {"Keys": []}}}),
    ("dynamodb", {"endpoint_url": "http://127.0.0.1:1"}, "Query", {"TableName": "ledger"}),
    ("dynamodb", {"region_name": "eu-west-1"}, "ListTables", {}),
    ("dynamodb", {"config": Config(account_id_endpoint_mode="required")}, "PutItem", {"TableName": "x"}),
    ("s3", {}, "GetObject", {"Bucket": "my-bucket", "Key": "k"}),
    (
        "s3",
        {"config": Config(s3={"addressing_style": "path"})},
        "PutObject",
        {"Bucket": "b.dotted", "Key": "k"},
    ),
    ("s3", {}, "CreateBucket", {"Bucket": "new-bucket"}),
    ("s3", {}, "ListBuckets", {}),
    ("sqs", {"endpoint_url": "http://127.0.0.1:1"}, "SendMessage", {"QueueUrl": "q", "MessageBody": "m"}),
    ("sns", {"use_ssl": False}, "Publish", {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "m"}),
    ("stepfunctions", {}, "SendTaskSuccess", {"taskToken": "t", "output": "{}"}),
    ("events", {}, "PutEvents", {"Entries": [], "EndpointId": "abc.def"}),
    ("sts", {}, "GetCallerIdentity", {}),
]


def _by_plan(*, may_fall_back: bool = False) -> Any:
    """The gathering by plan; unless ``may_fall_back``, botocore's method behind it fails the test if used."""
    resolver_class = regions.EndpointRulesetResolver
    if may_fall_back:
        return sdk_speedups.provider_params_by_plan(resolver_class, sdk_speedups.known_builtins(regions))

    def no_fallback(*_: Any) -> None:
        raise AssertionError("went to botocore's method, not by plan")

    with mock.patch.object(resolver_class, "_get_provider_params", no_fallback):
        return sdk_speedups.provider_params_by_plan(resolver_class, sdk_speedups.known_builtins(regions))


def _session() -> boto3.session.Session:
    return boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_account_id="123456789012",
    )


def _gathered(client: Any, operation: str, call_args: dict[str, Any], *, by_plan: bool) -> Any:
    """The endpoint inputs the client's resolver gathers for one call, with the hook's calls and features."""
    resolver = client._ruleset_resolver
    gather = _by_plan() if by_plan else _ORIGINAL_PROVIDER_PARAMS
    hook_saw: list[dict[str, Any]] = []
    service_id = client.meta.service_model.service_id.hyphenize()

    def watch(builtins: dict[str, Any], **_: Any) -> None:
        hook_saw.append({key: value for key, value in builtins.items() if not callable(value)})

    client.meta.events.register_last(f"before-endpoint-resolution.{service_id}", watch)
    operation_model = client.meta.service_model.operation_model(operation)
    answers = []
    with context.start_as_current_context():
        for _ in range(2):  # the plan made, then kept
            answers.append(gather(resolver, operation_model, dict(call_args), {}))
        current = context.get_context()
        assert current is not None
        features = sorted(current.features)
    client.meta.events.unregister(f"before-endpoint-resolution.{service_id}", watch)
    return answers, hook_saw, features


@pytest.mark.parametrize(("service", "keywords", "operation", "call_args"), _ENDPOINT_CALLS)
def test_the_endpoint_inputs_by_plan_are_botocores(
    service: str, keywords: dict[str, Any], operation: str, call_args: dict[str, Any]
) -> None:
    # Given a client as a handler makes it
    client = _session().client(service, **keywords)  # type: ignore[call-overload]

    # When its resolver gathers one call's endpoint inputs by plan, and botocore's way
    by_plan = _gathered(client, operation, call_args, by_plan=True)
    plain = _gathered(client, operation, call_args, by_plan=False)

    # Then the inputs, what the hooks saw and the features registered are the same
    assert by_plan == plain
    assert by_plan[0][0] == by_plan[0][1]
    assert by_plan[0][0]["Region"]


def test_a_hook_that_changes_the_builtins_is_followed_on_every_call() -> None:
    # Given a DynamoDB client whose before-endpoint-resolution hook changes the region on its second call
    client = _session().client("dynamodb")
    calls: list[int] = []

    def move_region(builtins: dict[str, Any], **_: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            builtins["AWS::Region"] = "ap-south-1"

    client.meta.events.register("before-endpoint-resolution.dynamodb", move_region)
    gather = _by_plan()
    operation_model = client.meta.service_model.operation_model("GetItem")

    # When two calls are gathered by plan
    first = gather(client._ruleset_resolver, operation_model, {"TableName": "t"}, {})  # type: ignore[attr-defined]
    second = gather(client._ruleset_resolver, operation_model, {"TableName": "t"}, {})  # type: ignore[attr-defined]

    # Then the second has the hook's region, as botocore's would
    assert (first["Region"], second["Region"]) == ("us-east-1", "ap-south-1")
    assert second["ResourceArn"] == "t"


def test_an_unknown_builtin_raises_as_botocore_does() -> None:
    # Given a resolver whose ruleset names a builtin botocore does not know
    client = _session().client("dynamodb")
    resolver = client._ruleset_resolver  # type: ignore[attr-defined]
    definitions = dict(resolver._param_definitions)
    region = definitions["Region"]
    unknown = type(region)(name="Region", parameter_type="string", builtIn="AWS::Nowhere")
    resolver._param_definitions = {**definitions, "Region": unknown}
    gather = _by_plan(may_fall_back=True)
    operation_model = client.meta.service_model.operation_model("GetItem")

    # When it gathers a call's inputs, then Then: botocore's own error
    with pytest.raises(UnknownEndpointResolutionBuiltInName):
        gather(resolver, operation_model, {"TableName": "t"}, {})
