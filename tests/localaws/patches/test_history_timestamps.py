"""localaws.patches.speedups.history_timestamps: a history event's timestamp, the same text as moto's."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.stepfunctions.parser.asl.eval.event import event_manager

from localaws.patches import speedups
from localaws.patches.speedups.history_timestamps import iso_8601_with_milliseconds

pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test

UTC = datetime.UTC
_EDGES = [
    datetime.datetime(2026, 11, 29, 10, 23, 25, 914_999, tzinfo=UTC),  # cut, not rounded
    datetime.datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=UTC),
    datetime.datetime(2026, 12, 31, 23, 59, 59, 999_999),  # naive
    datetime.datetime(2026, 6, 1, 12, 0, 0, 1_000, tzinfo=datetime.timezone(datetime.timedelta(hours=5))),
    datetime.datetime(1000, 1, 1, tzinfo=UTC),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime.datetime(999, 5, 6, 7, 8, 9, 10_000, tzinfo=UTC),  # below 1000: moto's own
]


class _Later(datetime.datetime):
    """A datetime subclass: may format itself otherwise, so it goes to moto's function."""

    def strftime(self, fmt: str) -> str:
        return "subclass-" + super().strftime(fmt)


@pytest.mark.parametrize("value", [*_EDGES, _Later(2026, 1, 1, tzinfo=UTC)], ids=str)
def test_the_same_text_as_moto_s_function(value: Any) -> None:
    # Given a timestamp, When both write it, Then the text is the same
    assert iso_8601_with_milliseconds(value) == iso_8601_datetime_with_milliseconds(value)


def test_the_same_text_for_random_times() -> None:
    # Given many times across the years and the microseconds
    draw = random.Random(29)
    start = datetime.datetime(1000, 1, 1, tzinfo=UTC)
    values = [
        start + datetime.timedelta(microseconds=draw.randrange(9_000 * 365 * 86_400 * 10**6))
        for _ in range(5000)
    ]

    # When both write them, Then every text is the same
    assert [iso_8601_with_milliseconds(v) for v in values] == [
        iso_8601_datetime_with_milliseconds(v) for v in values
    ]


def test_installed_only_where_history_events_are_written() -> None:
    # Given the speed-up installed
    speedups.install(["history_timestamps"])

    # Then the event manager writes with it; uninstall gives moto's back
    assert event_manager.iso_8601_datetime_with_milliseconds is iso_8601_with_milliseconds
    speedups.uninstall()
    assert event_manager.iso_8601_datetime_with_milliseconds is iso_8601_datetime_with_milliseconds
