"""Guard: every moto internal the local AWS touches is declared, and still exists on the pinned moto version.

``test_every_registered_moto_internal_resolves`` resolves what the modules declared. The scan below makes
sure they declared everything, so that the registry cannot drift from the code. It reads every ``localaws``
module's source (``ast``, no type inference) and asks, per module, for a declaration *by that module*
(``registry.register``, ``register_attributes``, a ``PatchSet``'s targets and ``reads``) of:

1. every moto import: ``from moto.a.b import C`` needs ``moto.a.b.C``; ``import moto.a`` needs ``moto.a``
   (imports under ``if TYPE_CHECKING:`` excepted: they never run, and mypy checks them);
2. every attribute read off an imported moto name: ``moto_settings.moto_server_port`` (``moto_settings``
   being ``moto.settings``) needs ``moto.settings.moto_server_port``, the whole dotted chain;
3. every private attribute, ``obj._name`` or ``getattr(obj, "_name")``, by its name: some path the module
   declared must end in ``._name`` (``moto.sqs.models.Queue._messages``), unless the name is ours.

A private name is ours when ``localaws`` defines it: a module-level name, a name in the body of one of our
classes, or an attribute one of our classes sets on ``self`` (classes derived from a moto class do not
count: their ``self`` is partly moto's). ``OURS_BY_HAND`` lists the rest, each with its reason.

Why private names, matched by name: without types the scan cannot know which object an attribute is read
off, but moto's private names are what moves without notice, and a name we do not define can only be
someone else's. Public attributes of moto objects reached through a call or a parameter (``message.
visible_at``) cannot be told from ours by name; they are declared by hand with ``register_attributes``, and
``registry.exists`` checks each (an instance attribute counts when the class's own code sets it).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import moto
import pytest

import localaws
from localaws.patches import registry

PACKAGE_ROOT = Path(localaws.__file__).parent

# Private names that the rules above cannot see are not moto's, and why.
OURS_BY_HAND: dict[str, str] = {
    "_calls": "ExecutionMocks (a moto MockTestCase) counts each state's calls; MockTestCase has none",
    "_calls_lock": "guards ExecutionMocks._calls",
    "_fail_execution": "ExecutionMocks' own method, not an override",
    "_getframe": "sys._getframe: the registry finds the module that declares a path",
}


def _import_all_localaws_modules() -> list[str]:
    names = []
    for module in pkgutil.walk_packages(localaws.__path__, prefix="localaws."):
        importlib.import_module(module.name)
        names.append(module.name)
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text()) for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _is_moto(module: str | None) -> bool:
    return module is not None and module.split(".")[0] == "moto"


def _moto_imports(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local name → the moto path it is bound to; and every moto path imported (at run time)."""
    # Imports under ``if TYPE_CHECKING:`` never run; mypy resolves them at every ``make lint``.
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
        for statement in node.body
        for inner in ast.walk(statement)
    }
    names: dict[str, str] = {}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and _is_moto(node.module):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                imported.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_moto(alias.name):
                    # ``import moto.a`` binds ``moto``; ``import moto.a as m`` binds ``m`` to ``moto.a``.
                    names[alias.asname or "moto"] = alias.name if alias.asname else "moto"
                    imported.add(alias.name)
    return names, imported


def _assigned_names(targets: list[ast.expr]) -> Iterator[ast.expr]:
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            yield from _assigned_names(list(target.elts))
        else:
            yield target


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(_assigned_names(node.targets))
    if isinstance(node, ast.AnnAssign | ast.AugAssign):
        return [node.target]
    if isinstance(node, ast.For | ast.With):
        items = [node.target] if isinstance(node, ast.For) else [i.optional_vars for i in node.items]
        return list(_assigned_names([i for i in items if i is not None]))
    return []


def _defined_here(tree: ast.Module, moto_names: dict[str, str]) -> set[str]:
    """Names this module defines: module level, our classes' bodies, and what our classes set on self."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        names |= {t.id for t in _targets(node) if isinstance(t, ast.Name)}
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        if any(ast.unparse(base).split(".")[0] in moto_names for base in cls.bases):
            continue
        for item in cls.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(item.name)
            names |= {t.id for t in _targets(item) if isinstance(t, ast.Name)}
        for inner in ast.walk(cls):
            names |= {
                t.attr
                for t in _targets(inner)
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
            }
    return names


def _private_attributes(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            found.add(node.args[1].value)
    return {name for name in found if name.startswith("_") and not name.startswith("__")}


def _moto_attribute_chains(tree: ast.Module, moto_names: dict[str, str]) -> set[str]:
    """``name.a.b`` read off an imported moto name, as the moto path ``moto....name.a.b``."""
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    chains = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        parts: list[str] = []
        value: ast.expr = node
        while isinstance(value, ast.Attribute):
            parts.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in moto_names:
            chains.add(".".join([moto_names[value.id], *reversed(parts)]))
    return chains


@dataclass
class Undeclared:
    """What one module uses of moto without declaring it."""

    imports: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    private_names: list[str] = field(default_factory=list)


def undeclared_moto_uses() -> dict[str, Undeclared]:
    """Per localaws module, the moto names, attribute chains and private names it did not declare."""
    _import_all_localaws_modules()
    declared: dict[str, set[str]] = {}
    for touched in registry.registered():
        declared.setdefault(touched.declared_by, set()).add(touched.dotted_path)
    sources = _sources()
    ours = set(OURS_BY_HAND)
    for tree in sources.values():
        ours |= _defined_here(tree, _moto_imports(tree)[0])
    report: dict[str, Undeclared] = {}
    for module, tree in sources.items():
        # A module that runs without localaws (the Lambda workers' botocore speed-ups) lists what it reads
        # of botocore itself; its own test resolves each.
        listed = {
            *getattr(sys.modules[module], "BOTOCORE_INTERNALS", ()),
            *getattr(sys.modules[module], "BOTOCORE_ATTRIBUTES", ()),
        }
        paths = declared.get(module, set()) | listed
        last_parts = {path.rpartition(".")[2] for path in paths}
        moto_names, imported = _moto_imports(tree)
        found = Undeclared(
            imports=sorted(imported - paths),
            chains=sorted(_moto_attribute_chains(tree, moto_names) - paths),
            private_names=sorted(_private_attributes(tree) - ours - last_parts),
        )
        if found != Undeclared():
            report[module] = found
    return report


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


def test_every_moto_name_localaws_uses_is_declared_by_the_module_using_it() -> None:
    # Given every localaws module imported, and its source
    # When each module's moto imports, moto attribute chains and private attributes are compared with
    # what that module declared
    report = undeclared_moto_uses()

    # Then nothing is used undeclared
    assert report == {}


def test_resolve_fails_loudly_for_a_moved_internal() -> None:
    # Given a path that does not exist
    registry.register("moto.sqs.models.Queue.no_such_attribute_for_test", "guard self-test")
    try:
        # When / Then: it is reported with the reason it was needed
        problems = registry.unresolvable()
        assert any("no_such_attribute_for_test" in p and "guard self-test" in p for p in problems)
    finally:
        registry.unregister("moto.sqs.models.Queue.no_such_attribute_for_test", __name__)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("moto.sqs.models.Queue._messages", True),  # set in Queue.__init__, absent from the class
        ("moto.sqs.models.Queue.no_such_instance_attribute", False),
        ("moto.sqs.models.no_such_module_name", False),
    ],
)
def test_instance_attributes_count_when_the_class_sets_them(path: str, expected: bool) -> None:
    # Given / When / Then
    assert registry.exists(path) is expected
