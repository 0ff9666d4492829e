"""Speed-up of moto's ASL interpreter: the JSON text of state data.

* ``json_text`` -- moto writes every value it puts in a history event, measures against the size quota or
  hands to a task as text with ``to_json_str``: ``json.dumps(obj, cls=_DateTimeEncoder)``, about 27 times
  an execution of the five-state benchmark. Passing ``cls`` makes ``json.dumps`` build a new encoder (its
  ``__init__`` and ``encode`` in Python) on every call, about twice the cost of the whole encoding of such a
  value. The encoder's ``default`` (dates as ISO text, anything else as ``str()``) is only asked about a
  value JSON has no form for; ``json.dumps(obj)``, with the standard encoder kept by the ``json`` module and
  the same options otherwise, raises ``TypeError`` at exactly that point. So ``json_text`` writes with the
  standard encoder and, on ``TypeError``, calls moto's own ``to_json_str``: the same text, or the same error
  (a circular value, a key JSON cannot have). A call with ``separators`` goes to moto's own. Every module of
  moto's Step Functions parser that binds ``to_json_str`` gets it (``TO_JSON_STR_USERS``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from localaws.patches import registry

_PARSER = "moto.stepfunctions.parser"
_TO_JSON_STR = f"{_PARSER}.asl.utils.encoding.to_json_str"
# Every module of the parser that imports to_json_str by name (tests/localaws/patches/test_json_text.py
# checks that this is all of them).
TO_JSON_STR_USERS: tuple[str, ...] = tuple(
    f"{_PARSER}.{module}.to_json_str"
    for module in (
        "asl.component.common.string.string_expression",
        "asl.component.eval_component",
        "asl.component.program.program",
        "asl.component.state.exec.state_map.items.items",
        "asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker",
        "asl.component.state.exec.state_map.iteration.job",
        "asl.component.state.exec.state_map.max_concurrency",
        "asl.component.state.exec.state_map.tolerated_failure",
        "asl.component.state.exec.state_task.lambda_eval_utils",
        "asl.component.state.exec.state_task.service.state_task_service",
        "asl.component.state.exec.state_task.service.state_task_service_batch",
        "asl.component.state.exec.state_task.service.state_task_service_callback",
        "asl.component.state.exec.state_task.service.state_task_service_events",
        "asl.component.state.exec.state_task.service.state_task_service_glue",
        "asl.component.state.exec.state_task.service.state_task_service_sfn",
        "asl.component.state.exec.state_task.service.state_task_service_sns",
        "asl.component.state.exec.state_task.service.state_task_service_sqs",
        "asl.component.state.exec.state_task.state_task_activitiy",
        "asl.component.state.exec.state_task.state_task_lambda",
        "asl.component.state.state",
        "asl.component.test_state.program.test_state_program",
        "asl.eval.event.event_manager",
        "asl.eval.event.logging",
        "asl.eval.variable_store",
        "asl.jsonata.jsonata",
        "asl.parse.test_state.preprocessor",
        "asl.utils.json_path",
        "backend.execution",
        "backend.execution_worker",
        "backend.test_state.execution",
        "quotas",
    )
)


@functools.cache
def _moto_to_json_str() -> Any:
    """moto's own ``to_json_str``, resolved once per process."""
    return registry.original(_TO_JSON_STR)


def to_json_str(obj: Any, separators: tuple[str, str] | None = None) -> str:
    """moto's ``to_json_str``: the standard encoder's text, or moto's own where that encoder gives up."""
    if separators is None:
        try:
            return json.dumps(obj)
        except TypeError:
            pass  # a value only moto's encoder's default writes (a date, an object), or moto's own error
    text: str = _moto_to_json_str()(obj, separators)
    return text


JSON_TEXT = registry.PatchSet(
    "json_text",
    [
        registry.Patch(path, to_json_str, "state data as JSON text without a new encoder per call")
        # The users first: patching one imports it, and a module imported once moto's own binding is
        # replaced would bind ours, and keep it after uninstall.
        for path in (*TO_JSON_STR_USERS, _TO_JSON_STR)
    ],
    reads=[
        (f"{_PARSER}.asl.utils.encoding._DateTimeEncoder", "its default is asked only what JSON cannot hold"),
    ],
)
