"""Speed-up of moto's core: looking a backend up by account.

* ``backend_lookup`` -- ``BackendDict[account_id]`` runs ``_create_account_specific_backend`` on every
  lookup, and every API call does several (its service's backend, and IAM's in ``mark_account_as_visited``).
  That function takes a global lock, lists the dict's keys and then tests ``self in BackendDict._instances``,
  which calls ``BackendDict.__eq__`` (and ``__len__``) on each registered backend dict ahead of this one:
  about a tenth of the endpoint's CPU. Once the account's backend exists and this dict is registered, the
  function does nothing, so we return at once in exactly that case (registration checked by identity);
  anything else runs moto's own code. ``BackendDict.reset`` clears both the dicts and the list, so a reset
  lands on moto's path again.
"""

from __future__ import annotations

from typing import Any

from localaws.patches import registry

_CREATE = "moto.core.base_backend.BackendDict._create_account_specific_backend"
_INSTANCES = "moto.core.base_backend.BackendDict._instances"


_BACKEND_DICT = registry.register("moto.core.base_backend.BackendDict", "the class whose lookups we shorten")
_backend_dict: Any = None


def _known_account_backend(self: Any, account_id: str) -> None:
    global _backend_dict  # noqa: PLW0603 - resolved once per process
    if _backend_dict is None:
        _backend_dict = registry.resolve(_BACKEND_DICT)
    # dict's own lookup: what ``account_id in list(self.keys())`` asks, without the list.
    if dict.__contains__(self, account_id):
        for registered in _backend_dict._instances:
            if registered is self:
                return
    registry.original(_CREATE)(self, account_id)


BACKEND_LOOKUP = registry.PatchSet(
    "backend_lookup",
    [
        registry.Patch(
            _CREATE,
            _known_account_backend,
            "skip the lock, key listing and __eq__ scan when the account's backend exists and is registered",
        )
    ],
    reads=[(_INSTANCES, "the registered backend dicts, compared by identity")],
)
