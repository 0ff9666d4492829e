"""Speed-up of moto's ASL interpreter: the frame each Task (and Map/Parallel) state opens.

* ``lean_frames`` -- ``Environment.as_inner_frame_of`` builds a whole new ``Environment`` for the frame (its
  own ``EventManager`` with a lock and an id generator, ``CallbackPoolManager``, ``MapRunRecordPoolManager``)
  and then replaces those three with the parent's: built to be thrown away, on every state that opens a
  frame. The frame is built with the parent's three from the start, every other field exactly as
  ``Environment.__init__`` and moto's ``as_inner_frame_of`` set it (the same deep copies of the context's
  ``State`` and of the program state). Only for ``Environment`` itself: a subclass (TestState's) gets moto's
  own, so its ``__init__`` runs as before.
"""

from __future__ import annotations

import threading
from typing import Any

from localaws.patches import registry

_ENVIRONMENT = "moto.stepfunctions.parser.asl.eval.environment.Environment"
_AS_INNER_FRAME_OF = f"{_ENVIRONMENT}.as_inner_frame_of"
_CONTEXT_OBJECT_DATA = "moto.stepfunctions.parser.asl.eval.environment.ContextObjectData"
_EVENT_HISTORY_CONTEXT = "moto.stepfunctions.parser.asl.eval.environment.EventHistoryContext"
_STATES = "moto.stepfunctions.parser.asl.eval.environment.States"
_VARIABLE_STORE = "moto.stepfunctions.parser.asl.eval.environment.VariableStore"
# The environment module's ``copy`` (json_copies' stand-in while that set is in): the copies moto's makes.
_COPY = "moto.stepfunctions.parser.asl.eval.environment.copy"


def _as_inner_frame_of(cls: Any, env: Any, variable_store: Any, event_history_frame_cache: Any = None) -> Any:
    """moto's ``Environment.as_inner_frame_of``, without the throw-away managers."""
    if cls is not registry.resolve(_ENVIRONMENT):
        return registry.original(_AS_INNER_FRAME_OF).__func__(
            cls, env, variable_store, event_history_frame_cache
        )
    context_data = env.states.context_object.context_object_data
    context = registry.resolve(_CONTEXT_OBJECT_DATA)(
        Execution=context_data["Execution"], StateMachine=context_data["StateMachine"]
    )
    if "Task" in context_data:
        context["Task"] = context_data["Task"]
    if event_history_frame_cache is None:
        event_history_frame_cache = registry.resolve(_EVENT_HISTORY_CONTEXT)(
            previous_event_id=env.event_history_context.source_event_id
        )
    frame = object.__new__(cls)
    # Environment.__init__'s fields, in its order, the managers the parent's.
    frame._state_mutex = threading.RLock()
    frame._program_state = None
    frame.program_state_event = threading.Event()
    frame.cloud_watch_logging_session = env.cloud_watch_logging_session
    frame.event_manager = env.event_manager
    frame.event_history_context = event_history_frame_cache
    frame.aws_execution_details = env.aws_execution_details
    frame.execution_type = env.execution_type
    frame.callback_pool_manager = env.callback_pool_manager
    frame.map_run_record_pool_manager = env.map_run_record_pool_manager
    frame.activity_store = env.activity_store
    frame.mock_test_case = env.mock_test_case
    frame._frames = []
    frame._is_frame = True  # as_inner_frame_of sets it right after __init__
    frame.heap = {}
    frame.stack = []
    frame.states = registry.resolve(_STATES)(context=context)
    frame.variable_store = variable_store or registry.resolve(_VARIABLE_STORE)()
    # The rest of what as_inner_frame_of sets after __init__.
    copy = registry.resolve(_COPY)
    if "State" in context_data:
        frame.states.context_object.context_object_data["State"] = copy.deepcopy(context_data["State"])
    frame._program_state = copy.deepcopy(env._program_state)
    return frame


LEAN_FRAMES = registry.PatchSet(
    "lean_frames",
    [
        registry.Patch(
            _AS_INNER_FRAME_OF,
            classmethod(_as_inner_frame_of),
            "a state's frame built with its parent's managers, not with new ones thrown away",
        )
    ],
    reads=[
        (_ENVIRONMENT, "the class whose frames are built; its fields are set as its __init__ sets them"),
        (_CONTEXT_OBJECT_DATA, "the frame's context object, as moto builds it"),
        (_EVENT_HISTORY_CONTEXT, "the frame's history context, as moto builds it"),
        (_STATES, "the frame's states, as Environment.__init__ builds them"),
        (_VARIABLE_STORE, "a frame given no variable store gets a new one, as in Environment.__init__"),
        *(
            (f"{_ENVIRONMENT}.{field}", "a private field of Environment, set as its __init__ sets it")
            for field in ("_state_mutex", "_program_state", "_frames", "_is_frame")
        ),
        (_COPY, "the deep copies of the context's State and of the program state, as moto makes them"),
    ],
)
