"""The bounded, thread-safe cache every speed-up keeps its reusable results in."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CacheStats:
    """Hit/miss counters, so tests and the benchmark can see a cache is really used."""

    hits: int = 0
    misses: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class LruCache:
    """A small thread-safe LRU map. Values are created one at a time: a burst of executions starting together
    must not build the same boto3 client (or parse the same definition) once per execution."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self.stats = CacheStats()

    def _lookup(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.stats.hits += 1
                return True, self._items[key]
        return False, None

    def get_or_create(self, key: Any, create: Callable[[], Any]) -> Any:
        found, value = self._lookup(key)
        if found:
            return value
        with self._create_lock:
            found, value = self._lookup(key)
            if found:
                return value
            value = create()
            with self._lock:
                self.stats.misses += 1
                self._items[key] = value
                while len(self._items) > self._maxsize:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.stats = CacheStats()

    def counts(self) -> dict[str, int]:
        return {"hits": self.stats.hits, "misses": self.stats.misses}
