"""The one registry of moto internals that orderflow's local AWS touches, and the one way to patch them.

moto is pinned; its private classes and functions can move in any release. Every module that reaches into
moto declares what it touches here, at import time: each name it imports from moto, each function it calls
or replaces, each attribute it reads off a moto object (``moto.sqs.models.Queue._messages``). Then
``tests/localaws/patches/test_guard.py`` resolves every path, and fails loudly on an upgrade instead of the
local runtime misbehaving quietly; it also scans each module for moto names it uses and did not declare.

A ``PatchSet`` is a named group of replacements that go in and come out together; every patch of ours is in
one. ``PatchesInUse`` keeps a set in while any running delivery mechanism needs it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PINNED_MOTO_VERSION = "5.2.5"


@dataclass(frozen=True)
class TouchedInternal:
    """A moto attribute we read or replace, why, and the module that declared it."""

    dotted_path: str
    reason: str
    declared_by: str


class MotoInternalMovedError(RuntimeError):
    """A registered moto internal no longer exists where we expect it (moto was upgraded?)."""


# Keyed by (path, declaring module): two modules touching one internal each say why.
_registry: dict[tuple[str, str], TouchedInternal] = {}
_originals: dict[str, Any] = {}
# What the owner's namespace held (a staticmethod or classmethod object, not the function it wraps).
_saved_attributes: dict[str, Any] = {}
_lock = threading.Lock()


def _declaring_module() -> str:
    """The module that called into the registry (the first frame outside this module)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", "?"))


def register(dotted_path: str, reason: str, *, declared_by: str | None = None) -> str:
    """Declare that we touch ``dotted_path`` (``package.module.Class.attr``); returns the path.

    ``declared_by`` defaults to the calling module.
    """
    module = declared_by or _declaring_module()
    with _lock:
        _registry[(dotted_path, module)] = TouchedInternal(dotted_path, reason, module)
    return dotted_path


def register_attributes(owner_path: str, names: Iterable[str], reason: str) -> str:
    """Declare the class (or module) at ``owner_path`` and each attribute of it that we read or set."""
    module = _declaring_module()
    register(owner_path, reason, declared_by=module)
    for name in names:
        register(f"{owner_path}.{name}", reason, declared_by=module)
    return owner_path


def unregister(dotted_path: str, declared_by: str) -> None:
    with _lock:
        _registry.pop((dotted_path, declared_by), None)


def registered() -> list[TouchedInternal]:
    with _lock:
        return sorted(_registry.values(), key=lambda t: (t.dotted_path, t.declared_by))


# Dotted path → the module ``_split`` found for it. Finding it tries the longer prefixes first, and each
# failed import costs more than the whole lookup after it (about 12 µs a resolve): speed-ups resolve on their
# hot paths, so a path's module is looked up in ``sys.modules`` once known.
_module_of: dict[str, str] = {}


def _split(dotted_path: str) -> tuple[Any, list[str]]:
    """Import the longest importable module prefix; return it and the remaining attribute names."""
    parts = dotted_path.split(".")
    known = _module_of.get(dotted_path)
    if known is not None:
        module = sys.modules.get(known)
        if module is not None:
            return module, parts[known.count(".") + 1 :]
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        _module_of[dotted_path] = module_name
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
    with _lock:
        known = any(path == dotted_path for path, _ in _registry)
    if not known:
        register(dotted_path, reason)
    owner_path, _, name = dotted_path.rpartition(".")
    owner = resolve(owner_path)
    original = resolve(dotted_path)
    with _lock:
        if dotted_path not in _originals:
            _originals[dotted_path] = original
            _saved_attributes[dotted_path] = vars(owner).get(name, original)
    setattr(owner, name, replacement)
    return _originals[dotted_path]


def original(dotted_path: str) -> Any:
    """moto's own implementation of a patched attribute (or the current one when not patched)."""
    with _lock:
        if dotted_path in _originals:
            return _originals[dotted_path]
    return resolve(dotted_path)


def unpatch(dotted_path: str) -> None:
    """Put moto's own attribute back, exactly as its owner held it."""
    with _lock:
        if _originals.pop(dotted_path, None) is None:
            return
        saved = _saved_attributes.pop(dotted_path)
    owner_path, _, name = dotted_path.rpartition(".")
    setattr(resolve(owner_path), name, saved)


def _assigns_on_self(cls: type, name: str) -> bool:
    """Whether ``cls``'s source sets ``self.<name>`` (an instance attribute, absent from the class)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return False
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and node.attr == name
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            return True
    return False


def _is_instance_attribute(cls: type, name: str) -> bool:
    """``name`` is declared (annotation, slot, dataclass field) or assigned on ``self`` in ``cls``'s MRO."""
    for klass in cls.__mro__:
        if klass is object:
            continue
        if name in vars(klass).get("__annotations__", {}) or name in vars(klass).get("__slots__", ()):
            return True
        if _assigns_on_self(klass, name):
            return True
    return False


def exists(dotted_path: str) -> bool:
    """Whether ``dotted_path`` resolves, or names an instance attribute that the class's own code sets."""
    try:
        resolve(dotted_path)
    except MotoInternalMovedError:
        owner_path, _, name = dotted_path.rpartition(".")
        try:
            owner = resolve(owner_path)
        except MotoInternalMovedError:
            return False
        return isinstance(owner, type) and _is_instance_attribute(owner, name)
    return True


def unresolvable() -> list[str]:
    """Registered paths that do not exist any more, with the reason each was needed."""
    problems = []
    for touched in registered():
        if not exists(touched.dotted_path):
            try:
                resolve(touched.dotted_path)
            except MotoInternalMovedError as exc:
                problems.append(f"{exc} (declared by {touched.declared_by}, needed for: {touched.reason})")
    return problems


@dataclass(frozen=True)
class Patch:
    """One replacement: ``target`` (a dotted path) becomes ``replacement``, for ``reason``."""

    target: str
    replacement: Any
    reason: str


class PatchSet:
    """Patches that go in and come out together. Declaring one registers every target, for the guard test.

    ``install`` and ``uninstall`` are idempotent; ``uninstall`` restores moto's own code.
    """

    def __init__(self, name: str, patches: Iterable[Patch] = (), *, reads: Iterable[tuple[str, str]] = ()):
        self.name = name
        self.patches = tuple(patches)
        self._installed = False
        self._lock = threading.Lock()
        for patch_ in self.patches:
            register(patch_.target, patch_.reason)
        # moto internals the replacements read or call without replacing them.
        for dotted_path, reason in reads:
            register(dotted_path, reason)

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            for patch_ in self.patches:
                patch(patch_.target, patch_.replacement, patch_.reason)
            self._installed = True

    def uninstall(self) -> None:
        with self._lock:
            if not self._installed:
                return
            for patch_ in reversed(self.patches):
                unpatch(patch_.target)
            self._installed = False

    def __repr__(self) -> str:
        return f"PatchSet({self.name!r}, {len(self.patches)} patches, installed={self._installed})"


class PatchesInUse(Generic[T]):
    """A ``PatchSet`` that stays in while any running instance (one per account and region) needs it.

    A delivery mechanism ``acquire``s on start and ``release``s on stop; the patched functions find the
    instance for the account and region they are called for with ``running``.
    """

    def __init__(self, patches: PatchSet) -> None:
        self.patches = patches
        self._running: dict[tuple[str, str], T] = {}
        self._lock = threading.Lock()

    def acquire(self, instance: T, *, account_id: str, region: str) -> None:
        with self._lock:
            self.patches.install()
            self._running[(account_id, region)] = instance

    def release(self, instance: T, *, account_id: str, region: str) -> None:
        with self._lock:
            if self._running.get((account_id, region)) is instance:
                del self._running[(account_id, region)]
            if not self._running:
                self.patches.uninstall()

    def running(self, account_id: str, region: str) -> T | None:
        return self._running.get((account_id, region))
