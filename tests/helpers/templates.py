"""Message bodies of the stored event templates, to start a test's message from a real-shaped one."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.events import load_event


def template_body(template: str) -> dict[str, Any]:
    """The parsed JSON body of ``tests/events/<template>.json``'s first record, a fresh copy each call."""
    body: dict[str, Any] = json.loads(load_event(template)["Records"][0]["body"])
    return body
