"""Turning pydantic validation errors into short, field-named reasons people can act on."""

from __future__ import annotations

from pydantic import ValidationError

_VALUE_ERROR_PREFIX = "Value error, "


def field_path(location: tuple[int | str, ...]) -> str:
    """``("items", 0, "quantity")`` -> ``items[0].quantity``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_errors(exc: ValidationError, *, root: str = "body") -> list[str]:
    """``<field path>: <reason>`` per error; errors about the whole value are reported against ``root``."""
    reasons = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix(_VALUE_ERROR_PREFIX)
        reasons.append(f"{field_path(error['loc']) or root}: {message}")
    return reasons
