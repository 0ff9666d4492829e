"""Which of moto's functions called a patched one, told by the identity of the caller's code object.

Some speed-ups skip work only for callers known to need less of it (``read_only_inputs``: callers that only
read the input; ``sqs_queue_attributes``: callers that read no message count). ``KnownCallers`` holds those
callers' code objects, taken from moto's own functions (another patch may wrap one of them) at the first
question, and answers by identity: hashing a code object hashes its bytecode and constants, which cost
about 1.5 % of an execution's instructions when ``read_only_inputs`` asked by equality. The code objects
are held, so their ids stay theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import CodeType, FrameType

from localaws.patches import registry


class KnownCallers:
    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = tuple(paths)
        self._codes: tuple[CodeType, ...] = ()
        self._ids: frozenset[int] | None = None

    def called_from(self, frame: FrameType) -> bool:
        """True when ``frame`` runs one of the callers' code."""
        ids = self._ids if self._ids is not None else self._resolve()
        return id(frame.f_code) in ids

    def _resolve(self) -> frozenset[int]:
        self._codes = tuple(registry.original(path).__code__ for path in self.paths)
        self._ids = ids = frozenset(id(code) for code in self._codes)
        return ids
