"""Typed access to the environment a function is configured with.

Each service declares a small pydantic model whose fields alias the variable names. The environment is read
when the settings are asked for, not at import, so tests and the local runtime can set it first.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

SettingsT = TypeVar("SettingsT", bound="ServiceSettings")


class MissingSettingError(RuntimeError):
    """The function's environment lacks a variable the service needs: a deployment mistake."""


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def read_settings(model: type[SettingsT]) -> SettingsT:
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors())
        raise MissingSettingError(f"{model.__name__}: invalid or missing environment: {fields}") from exc
