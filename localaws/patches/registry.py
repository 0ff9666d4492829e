"""The one registry of moto internals that orderflow's local AWS touches.

moto is pinned; its private classes and functions can move in any release. Every module that reaches into
moto declares what it touches here, at import time, so that ``tests/localaws/patches/test_guard.py`` can
resolve each path and fail loudly on an upgrade instead of the local runtime misbehaving quietly.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PINNED_MOTO_VERSION = "5.2.5"


@dataclass(frozen=True)
class TouchedInternal:
    """A moto attribute we read or replace, and why."""

    dotted_path: str
    reason: str


class MotoInternalMovedError(RuntimeError):
    """A registered moto internal no longer exists where we expect it (moto was upgraded?)."""


_registry: dict[str, TouchedInternal] = {}
_originals: dict[str, Any] = {}
_lock = threading.Lock()


def register(dotted_path: str, reason: str) -> str:
    """Declare that we touch ``dotted_path`` (``package.module.Class.attr``); returns the path."""
    with _lock:
        _registry[dotted_path] = TouchedInternal(dotted_path, reason)
    return dotted_path


def registered() -> list[TouchedInternal]:
    with _lock:
        return sorted(_registry.values(), key=lambda t: t.dotted_path)


def _split(dotted_path: str) -> tuple[Any, list[str]]:
    """Import the longest importable module prefix; return it and the remaining attribute names."""
    parts = dotted_path.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        return module, parts[cut:]
    raise MotoInternalMovedError(f"no importable module in {dotted_path!r}")


def resolve(dotted_path: str) -> Any:
    """The object at ``dotted_path``; raises ``MotoInternalMovedError`` when it is gone."""
    obj, attributes = _split(dotted_path)
    for name in attributes:
        try:
            obj = getattr(obj, name)
        except AttributeError as exc:
            raise MotoInternalMovedError(f"{dotted_path!r}: {name!r} not found on {obj!r}") from exc
    return obj


def patch(dotted_path: str, replacement: Any, reason: str) -> Any:
    """Replace the attribute at ``dotted_path`` (registering it) and return the original.

    Patching twice keeps the very first original, so ``unpatch`` always restores moto's own code.
    """
    register(dotted_path, reason)
    owner_path, _, name = dotted_path.rpartition(".")
    owner = resolve(owner_path)
    original = resolve(dotted_path)
    with _lock:
        _originals.setdefault(dotted_path, original)
    setattr(owner, name, replacement)
    return _originals[dotted_path]


def original(dotted_path: str) -> Any:
    """moto's own implementation of a patched attribute (or the current one when not patched)."""
    with _lock:
        if dotted_path in _originals:
            return _originals[dotted_path]
    return resolve(dotted_path)


def unpatch(dotted_path: str) -> None:
    with _lock:
        saved = _originals.pop(dotted_path, None)
    if saved is not None:
        owner_path, _, name = dotted_path.rpartition(".")
        setattr(resolve(owner_path), name, saved)


def unresolvable() -> list[str]:
    """Registered paths that do not resolve, with the reason each was needed."""
    problems = []
    for touched in registered():
        try:
            resolve(touched.dotted_path)
        except MotoInternalMovedError as exc:
            problems.append(f"{exc} (needed for: {touched.reason})")
    return problems


class PatchesInUse(Generic[T]):
    """Patches that stay in while any running instance (one per account and region) needs them.

    A delivery mechanism ``acquire``s on start and ``release``s on stop; the patched functions find the
    instance for the account and region they are called for with ``running``.
    """

    def __init__(self, patches: Sequence[tuple[str, Any, str]]) -> None:
        self._patches = tuple(patches)
        self._running: dict[tuple[str, str], T] = {}
        self._lock = threading.Lock()

    def acquire(self, instance: T, *, account_id: str, region: str) -> None:
        with self._lock:
            if not self._running:
                for dotted_path, replacement, reason in self._patches:
                    patch(dotted_path, replacement, reason)
            self._running[(account_id, region)] = instance

    def release(self, instance: T, *, account_id: str, region: str) -> None:
        with self._lock:
            if self._running.get((account_id, region)) is instance:
                del self._running[(account_id, region)]
            if not self._running:
                for dotted_path, _, _ in self._patches:
                    unpatch(dotted_path)

    def running(self, account_id: str, region: str) -> T | None:
        return self._running.get((account_id, region))
