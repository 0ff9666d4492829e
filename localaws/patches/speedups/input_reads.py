"""Speed-up of moto's ASL interpreter: the copies of a state's input that nothing can mutate.

* ``read_only_inputs`` -- ``States.get_input()`` deep-copies the state's whole input on every call, so that
  no caller can change what the next caller reads: 29 copies an execution of the five-state benchmark, the
  largest values the interpreter copies. Most of those callers only read the copy and throw it away: they
  serialise it into a history event (``to_json_str``), measure its serialised size (``_verify_size_quota``),
  or hand it to ``States.reset``, which deep-copies what it is given. For exactly those callers (the moto
  functions in ``READ_ONLY_CALLERS``, recognised by their code object, each checked by
  ``tests/localaws/patches/test_input_reads.py`` to use the input only that way) ``get_input()`` returns the
  held input itself: the same JSON text, the same size, the same copy in the frame. Every other caller, and
  every call with a query, gets moto's copy as before, so a state still never sees another's mutation.
"""

from __future__ import annotations

import sys
from typing import Any

from localaws.patches import registry
from localaws.patches.speedups.callers import KnownCallers

_ASL = "moto.stepfunctions.parser.asl"
_STATES = f"{_ASL}.eval.states.States"
_GET_INPUT = f"{_STATES}.get_input"
_STATE = f"{_ASL}.component.state.state.CommonStateField"

# moto's functions whose every ``get_input()`` only reads the value, and what each does with it.
READ_ONLY_CALLERS: tuple[tuple[str, str], ...] = (
    (f"{_STATE}._get_state_entered_event_details", "serialises it into the StateEntered event"),
    (f"{_STATE}._get_state_exited_event_details", "serialises it into the StateExited event"),
    (f"{_STATE}._eval_body", "measures its serialised size (_verify_size_quota)"),
    (f"{_ASL}.component.program.program.Program._eval_body", "serialises it into ExecutionSucceeded"),
    (
        f"{_ASL}.component.state.exec.execute_state.ExecutionState._evaluate_with_timeout",
        "hands it to the frame's States.reset, which deep-copies it",
    ),
    (
        f"{_ASL}.component.state.exec.state_map.state_map.StateMap._eval_execution",
        "hands it to the frame's States.reset, which deep-copies it",
    ),
)
_READ_ONLY = KnownCallers(path for path, _ in READ_ONLY_CALLERS)


def _get_input(self: Any, query: str | None = None) -> Any:
    """moto's ``States.get_input``, without the deep copy when the caller only reads the whole input."""
    data = self._states_data["input"]
    if query is None and _READ_ONLY.called_from(sys._getframe(1)):
        return data
    return self._extract(query, data)  # moto's get_input: extract, then deep-copy


READ_ONLY_INPUTS = registry.PatchSet(
    "read_only_inputs",
    [
        registry.Patch(
            _GET_INPUT,
            _get_input,
            "the held input, not a deep copy, for moto's callers that only serialise it or copy it again",
        )
    ],
    reads=[
        (f"{_STATES}._states_data", "the held input, as get_input reads it before copying"),
        (f"{_STATES}._extract", "what moto's get_input returns: the input extracted, then deep-copied"),
        *((path, f"its get_input() is read-only: it {what}") for path, what in READ_ONLY_CALLERS),
    ],
)
