"""``request_ids``: moto's random strings (every answer's request id) drawn faster, and the very same."""

from __future__ import annotations

import random
from typing import Any

import pytest
from moto.core.responses import BaseResponse
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.moto_random import MotoRandom

from localaws.patches.speedups import server


@pytest.mark.parametrize(
    "arguments",
    [
        {"length": 52},
        {},
        {"length": 8, "include_digits": False},
        {"length": 30, "lower_case": True},
        {"length": 0},
    ],
)
def test_seeded_strings_are_moto_s_own(arguments: dict[str, Any]) -> None:
    # Given two moto random generators seeded alike
    stock, ours = MotoRandom(), MotoRandom()
    stock.seed(42)
    ours.seed(42)
    # When one draws with moto's code and the other with ours, many times
    expected = [MotoRandom.get_random_string(stock, **arguments) for _ in range(200)]
    drawn = [server._random_string(ours, **arguments) for _ in range(200)]
    # Then the strings are the same, and so is what the generators draw next
    assert drawn == expected
    assert ours.random() == stock.random()


def test_a_generator_that_draws_otherwise_gets_moto_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a generator whose numbers come from random() alone (its _randbelow does not use getrandbits)
    class FloatsOnly(MotoRandom):
        def random(self) -> float:
            return super().random()

    assert FloatsOnly._randbelow is not random.Random._randbelow_with_getrandbits  # type: ignore[attr-defined]
    monkeypatch.setattr(server.registry, "original", lambda path: MotoRandom.get_random_string)
    stock, ours = FloatsOnly(), FloatsOnly()
    stock.seed(7)
    ours.seed(7)
    # Then ours gives what moto's gives for it
    assert server._random_string(ours, 20) == MotoRandom.get_random_string(stock, 20)


def test_the_patch_is_installed_with_the_speed_ups() -> None:
    from localaws.patches import speedups  # noqa: PLC0415 - the install under test

    speedups.install(["request_ids"])
    try:
        assert MotoRandom.get_random_string is server._random_string
    finally:
        speedups.uninstall()
    assert MotoRandom.get_random_string is not server._random_string


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"status": 200}, '{"TableNames": []}'),
        (
            {},
            "<PublishResponse><ResponseMetadata><RequestId>old</RequestId></ResponseMetadata></PublishResponse>",
        ),
        ({"status": "400"}, "<ErrorResponse><Error/><RequestId>x</RequestId>\n</ErrorResponse>"),
        ({}, b"<RequestId>bytes</RequestId>"),
        ({"status": 201}, None),
        ({}, ""),
    ],
)
def test_answers_are_enriched_as_moto_enriches_them(headers: dict[str, Any], body: Any) -> None:
    # Given moto's enrichment and ours, with request ids drawn from generators seeded alike
    stock_headers, our_headers = dict(headers), dict(headers)
    mock_random.seed(5)
    stock = BaseResponse._enrich_response(stock_headers, body)
    mock_random.seed(5)
    ours = server._enrich_response(our_headers, body)
    # Then the headers (status text, request id) and the body are the same
    assert ours == stock
    assert our_headers == stock_headers and len(our_headers["x-amzn-requestid"]) == 52
