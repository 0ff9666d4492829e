"""Speed-up of moto's ASL interpreter: the deep copies of state data.

* ``json_copies`` -- the interpreter deep-copies the state's data at nearly every step (each read of the
  input or the context, each ``reset``, each result, each JSONPath string, each task's frame): about a fifth
  of the engine's CPU, nearly all of it ``copy.deepcopy``'s generic dispatch over plain JSON (dicts, lists,
  strings, numbers, booleans, ``None``). ``json_deepcopy`` copies those itself, keeping ``copy.deepcopy``'s
  memo (so data that appears twice is copied once and stays shared, as deepcopy gives it) and handing every
  other value, with that memo, to ``copy.deepcopy``. The interpreter modules that copy state data see it
  through a stand-in for their ``copy`` module; everything else of ``copy`` is the module's own.
  The program state (``ProgramRunning``: the next state's name; ``ProgramEnded``, ``ProgramTimedOut``) is
  copied about ten times an execution (``Environment.program_state()``, each frame): plain instances whose
  fields are strings or ``None``, which deepcopy rebuilds through ``__reduce_ex__`` (about 4.5 us each).
  ``_copy_plain_instance`` does what that reduction does (a new instance of the class, its ``__dict__``
  deep-copied under the same memo) in about 2 us.
"""

from __future__ import annotations

import copy
from typing import Any

from localaws.patches import registry

_PARSER = "moto.stepfunctions.parser.asl"
# The interpreter modules that deep-copy state data (JSON values, the stack, history event details).
_COPYING_MODULES: tuple[str, ...] = tuple(
    f"{_PARSER}.{module}.copy"
    for module in (
        "eval.states",
        "eval.environment",
        "eval.event.event_manager",
        "component.common.string.string_expression",
        "component.common.path.result_path",
        "component.intrinsic.function.statesfunction.json_manipulation.json_merge",
        "component.state.exec.execute_state",
        "component.state.exec.state_map.state_map",
        "component.state.exec.state_map.iteration.job",
        "component.state.exec.state_parallel.state_parallel",
        "component.state.exec.state_task.mock_eval_utils",
        "component.state.exec.state_task.service.state_task_service",
    )
)

# Values copy.deepcopy returns as they are (its ``_deepcopy_atomic`` types that JSON has).
_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None)})
# moto's program states that deepcopy copies by the default reduction (a new instance, its __dict__ copied).
_PROGRAM_STATE = "moto.stepfunctions.parser.asl.eval.program_state"
PLAIN_INSTANCE_PATHS: tuple[str, ...] = tuple(
    f"{_PROGRAM_STATE}.{name}" for name in ("ProgramRunning", "ProgramEnded", "ProgramTimedOut")
)
_plain_instances: frozenset[type] | None = None


def _plain_instance_types() -> frozenset[type]:
    global _plain_instances  # noqa: PLW0603 - resolved once per process
    if _plain_instances is None:
        _plain_instances = frozenset(registry.resolve(path) for path in PLAIN_INSTANCE_PATHS)
    return _plain_instances


def _keep_alive(value: Any, memo: dict[int, Any]) -> None:
    # As copy._keep_alive: the originals stay referenced while the memo maps their ids.
    try:
        memo[id(memo)].append(value)
    except KeyError:
        memo[id(memo)] = [value]


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    cls = type(value)
    if cls in _ATOMIC:
        return value
    if cls is dict:
        known = memo.get(id(value), memo)
        if known is not memo:
            return known
        copied: dict[Any, Any] = {}
        memo[id(value)] = copied
        for key, item in value.items():
            copied[key if type(key) is str else copy.deepcopy(key, memo)] = (
                item if type(item) in _ATOMIC else _copy(item, memo)
            )
        _keep_alive(value, memo)
        return copied
    if cls is list:
        known = memo.get(id(value), memo)
        if known is not memo:
            return known
        copied_list: list[Any] = []
        memo[id(value)] = copied_list
        append = copied_list.append
        for item in value:
            append(item if type(item) in _ATOMIC else _copy(item, memo))
        _keep_alive(value, memo)
        return copied_list
    if cls in _plain_instance_types():
        return _copy_plain_instance(value, memo)
    return copy.deepcopy(value, memo)


def _copy_plain_instance(value: Any, memo: dict[int, Any]) -> Any:
    """What deepcopy does with an instance its class lets reduce by default (``copy._reconstruct`` of
    ``__reduce_ex__(4)``): ``cls.__new__(cls)``, memoised, then its ``__dict__`` deep-copied into it."""
    known = memo.get(id(value), memo)
    if known is not memo:
        return known
    cls: Any = type(value)
    copied = cls.__new__(cls)
    memo[id(value)] = copied
    copied.__dict__.update(_copy(value.__dict__, memo))
    _keep_alive(value, memo)
    return copied


def json_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy(value, memo)``, with the JSON types copied without its per-value dispatch."""
    if type(value) in _ATOMIC:
        return value
    if memo is None:
        memo = {}
    return _copy(value, memo)


class _CopyModule:
    """An interpreter module's ``copy``: ``deepcopy`` is ``json_deepcopy``, the rest is ``copy``'s."""

    deepcopy = staticmethod(json_deepcopy)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


COPY_MODULE = _CopyModule()

JSON_COPIES = registry.PatchSet(
    "json_copies",
    [
        registry.Patch(path, COPY_MODULE, "deep copies of JSON state data without deepcopy's dispatch")
        for path in _COPYING_MODULES
    ],
    reads=[
        (path, "a program state deepcopy copies by the default reduction: copied as that reduction does")
        for path in PLAIN_INSTANCE_PATHS
    ],
)
