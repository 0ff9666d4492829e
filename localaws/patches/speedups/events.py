"""Speed-up of moto's EventBridge.

* ``event_input_paths`` -- EventBridge builds every target's input with ``jsonpath_ng``, parsing each input
  path (eight of them by default) for every event; we parse each path once (parsed expressions are
  immutable).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonpath_ng.ext import parse
from moto.events.utils import EventTemplateParser

from localaws.patches import registry
from localaws.patches.speedups.cache import LruCache

_EVENT_TEMPLATE_PARSE = "moto.events.utils.EventTemplateParser.parse"
_JSONPATHS_MAX = 4096

event_jsonpaths = LruCache(_JSONPATHS_MAX)


def _event_template_parse(
    input_template: str, input_paths_map: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any]:
    """moto's ``EventTemplateParser.parse``, each input path parsed once."""

    template_to_use = input_template or EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    input_paths_map = input_paths_map or EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    for input_path, path in input_paths_map.items():
        expression = event_jsonpaths.get_or_create(path, functools.partial(parse, path))
        matches = expression.find(event)
        result = EventTemplateParser._stringify(matches[0].value) if matches else None
        if result:
            template_to_use = template_to_use.replace(f"<{input_path}>", result)
    default_inputs_map = {
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event["ingestion-time"],
    }
    for input_path, value in default_inputs_map.items():
        template_to_use = template_to_use.replace(f"<{input_path}>", EventTemplateParser._stringify(value))
    parsed: dict[str, Any] = json.loads(template_to_use)
    return parsed


EVENT_INPUT_PATHS = registry.PatchSet(
    "event_input_paths",
    [
        registry.Patch(
            _EVENT_TEMPLATE_PARSE, staticmethod(_event_template_parse), "parse each input path once"
        )
    ],
    reads=[
        (f"moto.events.utils.EventTemplateParser{name}", "default template and paths, and its stringify")
        for name in ("", ".DEFAULT_EVENT_INPUT_TEMPLATE", ".DEFAULT_EVENT_INPUT_PATHS_MAP", "._stringify")
    ],
)
