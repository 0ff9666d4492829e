"""moto's Batch package, run when something reads from it, not when moto's Step Functions parser is imported.

moto's ASL parser imports ``moto.batch.utils`` (for one enum) at import time, and importing any module of a
package runs the package's ``__init__`` first: ``moto/batch/__init__.py`` imports Batch's models, which
import all of EC2's (AMIs, instance types, every region's zones read from botocore's endpoints): about half
of what importing the endpoint costs (``python -X importtime -c "import localaws.endpoint.server"``), in
every process that starts the endpoint, for a service no workflow of ours calls.

``install()`` puts a finder first on ``sys.meta_path`` that gives ``moto.batch`` a loader of its own: the
package module gets its real ``__path__``, ``__file__`` and spec (so ``moto.batch.utils`` imports as
before, from the same file), and a module ``__getattr__`` that runs the real ``__init__`` the first time an
attribute it defines is read (``moto.batch.batch_backends``, as ``moto.backends.get_backend("batch")``
does). Nothing of moto is replaced: the same code runs, later or never. Installing after ``moto.batch`` was
imported changes nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

LAZY_PACKAGES = frozenset({"moto.batch"})


class _LazyPackageLoader(importlib.abc.Loader):
    """Creates the package module; runs its real ``__init__`` on the first attribute read it misses."""

    def __init__(self, real: importlib.machinery.ModuleSpec) -> None:
        self._real = real
        self._lock = threading.RLock()

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module, its attributes set from the spec

    def exec_module(self, module: ModuleType) -> None:
        real_loader = self._real.loader
        assert real_loader is not None
        lock = self._lock

        def load_on_first_read(name: str) -> Any:
            with lock:
                if module.__dict__.get("__getattr__") is load_on_first_read:
                    del module.__dict__["__getattr__"]
                    real_loader.exec_module(module)
            return getattr(module, name)

        module.__dict__["__getattr__"] = load_on_first_read


class _LazyPackageFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY_PACKAGES:
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.loader is None or real.submodule_search_locations is None:
            return None  # not a package on the path: the ordinary import says what is wrong
        spec = importlib.machinery.ModuleSpec(
            fullname, _LazyPackageLoader(real), origin=real.origin, is_package=True
        )
        spec.submodule_search_locations = list(real.submodule_search_locations)
        spec.has_location = real.has_location
        spec.cached = real.cached
        return spec


_FINDER = _LazyPackageFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
