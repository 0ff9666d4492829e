"""Guard: every moto internal the local AWS touches still exists, on the pinned moto version."""

from __future__ import annotations

import importlib
import pkgutil

import moto

import localaws
from localaws.patches import registry


def _import_all_localaws_modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(localaws.__path__, prefix="localaws."):
        importlib.import_module(module.name)
        names.append(module.name)
    return names


def test_moto_is_the_pinned_version() -> None:
    # Given / When / Then: an upgrade must be a deliberate change of the pin, re-checked by this guard
    assert moto.__version__ == registry.PINNED_MOTO_VERSION


def test_every_registered_moto_internal_resolves() -> None:
    # Given every localaws module imported (each declares what it touches at import)
    modules = _import_all_localaws_modules()
    assert {"localaws.lambda_.runtime", "localaws.patches.speedups", "localaws.delivery.sqs"} <= set(modules)

    # When each registered path is resolved
    problems = registry.unresolvable()

    # Then none has moved, and the registry is not trivially empty
    assert problems == []
    assert len(registry.registered()) >= 5


def test_resolve_fails_loudly_for_a_moved_internal() -> None:
    # Given a path that does not exist
    registry.register("moto.sqs.models.Queue.no_such_attribute_for_test", "guard self-test")
    try:
        # When / Then: it is reported with the reason it was needed
        problems = registry.unresolvable()
        assert any("no_such_attribute_for_test" in p and "guard self-test" in p for p in problems)
    finally:
        registry._registry.pop("moto.sqs.models.Queue.no_such_attribute_for_test")
