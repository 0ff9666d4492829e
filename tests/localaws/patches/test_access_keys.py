"""localaws.patches.speedups.access_keys: the access key of a request, the same as moto's method finds."""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from typing import Any

import pytest
from moto.core.responses import BaseResponse

from localaws.patches import speedups
from localaws.patches.speedups import access_keys

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

_SIGNATURE = "0123456789abcdef" * 4
_HEADERS = [
    f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261129/us-east-1/states/aws4_request, "
    f"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={_SIGNATURE}",
    f"AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/states/aws4_request, Signature={_SIGNATURE}",
    "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",  # SigV2: the key before a colon
    "AWS4 KEY1KEY1KEY1KEY1KEY1/ then AKIAIOSFODNN7EXAMPL2/ later",  # greedy: the last key on the line
    "AWS first line with no key\nAWS AKIAIOSFODNN7EXAMPLE/ second line",  # the next line's AWS
    "AKIAIOSFODNN7EXAMPLE/ before any AWS",
    "AWS AKIAIOSFODNN7EXAMPLE",  # no colon or slash after it
    "AWS XAKIAIOSFODNN7EXAMPLE/ one character too many",
    "",
    "AWS",
    "AWS/:",
]


def _handler(headers: dict[str, Any], querystring: dict[str, list[str]] | None = None) -> BaseResponse:
    handler = BaseResponse()
    handler.headers = headers
    handler.querystring = OrderedDict(querystring or {})
    return handler


@pytest.mark.parametrize("header", _HEADERS)
def test_the_same_key_as_moto_s_method(header: str) -> None:
    # Given a request with this Authorization header
    handler = _handler({"Authorization": header})
    stock = handler.get_access_key()

    # When the speed-up reads it, twice (the second from what the first found)
    speedups.install(["access_keys"])
    # Then the key is moto's, both times
    assert handler.get_access_key() == stock
    assert handler.get_access_key() == stock


def test_random_headers_give_moto_s_key() -> None:
    # Given many headers of the characters moto's pattern cares about
    draw = random.Random(11)
    alphabet = ["A", "K", "I", "7", "0", "a", "/", ":", " ", "\n", "AWS", "AKIAIOSFODNN7EXAMPLE"]
    headers = ["".join(draw.choice(alphabet) for _ in range(draw.randrange(60))) for _ in range(3000)]
    pattern = BaseResponse.access_key_regex

    # When the speed-up searches them, Then it finds what moto's search finds
    for header in headers:
        match = pattern.search(header)
        assert access_keys._search(pattern, header) == (match.group(1) if match else None), header


def test_no_header_or_no_key_gives_the_query_string_s_or_moto_s_default() -> None:
    cases = [
        ({}, {"AWSAccessKeyId": ["AKIAQUERYKEYEXAMPLE1"]}),
        ({"Authorization": "Bearer token"}, {"AWSAccessKeyId": ["AKIAQUERYKEYEXAMPLE1"]}),
        ({"Authorization": "Bearer token"}, None),
        ({}, None),
    ]
    stock = [_handler(headers, query).get_access_key() for headers, query in cases]
    speedups.install(["access_keys"])
    assert [_handler(headers, query).get_access_key() for headers, query in cases] == stock
    assert stock == ["AKIAQUERYKEYEXAMPLE1", "AKIAQUERYKEYEXAMPLE1", "AKIAEXAMPLE", "AKIAEXAMPLE"]


def test_a_class_s_own_pattern_is_searched_whole() -> None:
    # Given a handler class whose pattern can match past the last colon or slash
    class Custom(BaseResponse):
        access_key_regex = re.compile(r"key=(?P<access_key>\w+)")

    handler = Custom()
    handler.headers = {"Authorization": "a/b key=MINE"}
    handler.querystring = OrderedDict()

    speedups.install(["access_keys"])
    assert handler.get_access_key() == "MINE"
