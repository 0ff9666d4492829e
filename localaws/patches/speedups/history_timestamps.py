"""Speed-up of moto's ASL interpreter: the timestamp of each history event.

* ``history_timestamps`` -- ``EventManager.add_event`` writes every history event's timestamp with moto's
  ``iso_8601_datetime_with_milliseconds`` (``strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"``): about 21 events
  an execution of the five-state benchmark, each ``strftime`` a few microseconds, a twentieth of the
  engine's CPU. ``iso_8601_with_milliseconds`` writes the same text from the datetime's fields: the
  second's text formatted once per second (an execution's events share their seconds), the milliseconds
  and zone from a table. Only the event manager's binding is replaced; a value it is not
  sure to write as ``strftime`` does (not a plain ``datetime``, or a year below 1000, which ``%Y`` may not
  pad) goes to moto's function.
"""

from __future__ import annotations

import datetime
from typing import Any

from localaws.patches import registry

_ISO_8601 = "moto.core.utils.iso_8601_datetime_with_milliseconds"
_EVENT_MANAGER_ISO_8601 = (
    "moto.stepfunctions.parser.asl.eval.event.event_manager.iso_8601_datetime_with_milliseconds"
)


# ".000Z" to ".999Z": the milliseconds and the zone of every timestamp, made once.
_MILLISECONDS: tuple[str, ...] = tuple(f".{milliseconds:03d}Z" for milliseconds in range(1000))
# "2026-11-29T10:23:25" per second's fields: an execution's events share their seconds. Bounded: cleared
# when full (a second is rarely asked again once past).
_SECONDS_KEPT = 1024
_seconds: dict[tuple[int, int, int, int, int, int], str] = {}


def iso_8601_with_milliseconds(value: Any = None) -> str:
    """moto's ``iso_8601_datetime_with_milliseconds``: ``2026-11-29T10:23:25.914Z`` (milliseconds cut, not
    rounded, as ``%f``'s first three digits are)."""
    if type(value) is not datetime.datetime or value.year < 1000:
        text: str = registry.resolve(_ISO_8601)(value)
        return text
    fields = (value.year, value.month, value.day, value.hour, value.minute, value.second)
    second = _seconds.get(fields)
    if second is None:
        second = "%04d-%02d-%02dT%02d:%02d:%02d" % fields  # noqa: UP031 - the fastest of the formatters here
        if len(_seconds) >= _SECONDS_KEPT:
            _seconds.clear()
        _seconds[fields] = second
    return second + _MILLISECONDS[value.microsecond // 1000]


def clear() -> None:
    _seconds.clear()


HISTORY_TIMESTAMPS = registry.PatchSet(
    "history_timestamps",
    [
        registry.Patch(
            _EVENT_MANAGER_ISO_8601,
            iso_8601_with_milliseconds,
            "a history event's timestamp written from the datetime's fields, the same text as strftime's",
        )
    ],
    reads=[(_ISO_8601, "moto's own, for any value not a plain datetime from year 1000 on")],
)
