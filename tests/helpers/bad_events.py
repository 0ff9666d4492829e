"""The bad-input corpus in ``tests/events/bad/``: one JSON file per case, each with its expected verdict.

A case's detail is ``detail`` as written, or the valid ``OrderPlaced`` detail of
``tests/events/eventbridge_order_placed.json`` with the order id ``bad-<case>``, changed by ``set``
(``"items[0].quantity": 0``) and ``unset`` (paths to remove). A ``recipe`` builds what is too large to
commit: ``items`` (that many lines, with a matching total), ``nest`` (a field nested ``depth`` objects
deep) or ``pad`` (a field filled until the PutEvents entry is ``entry_bytes``, or the execution input
``input_bytes``, long).

``expect`` is the contract's verdict: ``accepted``, or ``rejected`` with the first reason's ``field`` and a
part of its ``reason``. ``door`` says when AWS stops the event before the workflow sees it: a request
error of PutEvents (``request_error``), an entry error (``entry_error``), or a dead letter of the rule's
target (``dead_letter``, the ``ERROR_CODE`` EventBridge gives it).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from services.shared.contract import EVENT_SOURCE, ORDER_PLACED
from tests.helpers.events import EVENTS_DIR, load_event

BAD_DIR = EVENTS_DIR / "bad"
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# The envelope EventBridge wraps a detail in, with an id and a time as long as real ones: what the rule's
# Step Functions target passes as the execution input.
_ENVELOPE_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class BadCase:
    name: str
    description: str
    detail: Any
    expect: dict[str, str]
    door: dict[str, str] | None
    text: str  # the detail as the producer posts it

    @property
    def accepted(self) -> bool:
        return self.expect["verdict"] == "accepted"

    def entry(self, bus: str) -> dict[str, Any]:
        """The PutEvents entry that posts this case."""
        return {"Source": EVENT_SOURCE, "DetailType": ORDER_PLACED, "Detail": self.text, "EventBusName": bus}


def _detail_text(detail: Any) -> str:
    return json.dumps(detail)


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def _set(document: Any, path: str, value: Any) -> None:
    *parents, last = _steps(path)
    for step in parents:
        document = document[step]
    document[last] = value


def _unset(document: Any, path: str) -> None:
    *parents, last = _steps(path)
    for step in parents:
        document = document[step]
    del document[last]


def valid_detail() -> dict[str, Any]:
    return copy.deepcopy(load_event("eventbridge_order_placed")["detail"])


def _items(detail: dict[str, Any], count: int) -> None:
    detail["items"] = [{"sku": f"SKU-{n:05d}", "quantity": 1, "unitPrice": "1.00"} for n in range(count)]
    detail["totalAmount"] = f"{count}.00"


_NESTED = "__nested__"


def _nest(detail: dict[str, Any], field: str, depth: int) -> str:
    """Nest ``field`` ``depth`` objects deep; returns the detail's JSON, written without recursion (which
    ``json.dumps`` would run out of)."""
    detail[field] = _NESTED
    text = _detail_text(detail).replace(json.dumps(_NESTED), '{"x": ' * depth + '"deep"' + "}" * depth)
    value: Any = "deep"
    for _ in range(depth):
        value = {"x": value}
    detail[field] = value
    return text


def execution_input_size(detail: Any) -> int:
    """UTF-8 bytes of the execution input EventBridge starts the workflow with for this detail."""
    event = {
        "version": "0",
        "id": _ENVELOPE_ID,
        "detail-type": ORDER_PLACED,
        "source": EVENT_SOURCE,
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return len(json.dumps(event).encode())


def _pad(
    detail: dict[str, Any], field: str, *, entry_bytes: int | None = None, input_bytes: int | None = None
) -> None:
    detail[field] = ""
    if entry_bytes is not None:
        size = len(EVENT_SOURCE) + len(ORDER_PLACED) + len(_detail_text(detail).encode())
        detail[field] = "x" * (entry_bytes - size)
    elif input_bytes is not None:
        detail[field] = "x" * (input_bytes - execution_input_size(detail))


def _build(name: str, spec: dict[str, Any]) -> tuple[Any, str]:
    """The case's detail, and its JSON text. One built on the valid detail has its own order id."""
    detail: Any = (
        copy.deepcopy(spec["detail"]) if "detail" in spec else valid_detail() | {"orderId": f"bad-{name}"}
    )
    for path in spec.get("unset", []):
        _unset(detail, path)
    for path, value in spec.get("set", {}).items():
        _set(detail, path, value)
    recipe = spec.get("recipe", {})
    if "items" in recipe:
        _items(detail, recipe["items"])
    if "pad" in recipe:
        _pad(detail, **recipe["pad"])
    if "nest" in recipe:
        return detail, _nest(detail, **recipe["nest"])
    return detail, _detail_text(detail)


def load_bad_cases() -> list[BadCase]:
    cases = []
    for path in sorted(BAD_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        detail, text = _build(path.stem, spec)
        cases.append(
            BadCase(
                name=path.stem,
                description=spec["description"],
                detail=detail,
                expect=spec["expect"],
                door=spec.get("door"),
                text=text,
            )
        )
    return cases


def case_ids(cases: list[BadCase]) -> list[str]:
    return [case.name for case in cases]
