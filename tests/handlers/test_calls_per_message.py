"""What each handler calls per message, recorded on its AWS clients, is what ``orderflow cost`` bills.

``localaws/tools/cost/usage.py`` keeps the calls of each service per message (``HANDLER_CALLS``), read from
code; these tests run the real handlers on moto, record every DynamoDB, SNS and Step Functions call they
make through ``services.shared.aws``, turn them into billing units and compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from localaws.tools.cost.usage import HANDLER_CALLS, HandlerCalls, analytics_wru
from services.analytics.handler import handler as analytics_handler
from services.inventory.dal import seed_stock
from services.inventory.handler import handler as inventory_handler
from services.notification.handler import handler as notification_handler
from services.payment.handler import handler as payment_handler
from services.shared import aws
from services.shipping.handler import handler as shipping_handler
from tests.handlers.conftest import Cloud, Workflow
from tests.helpers.events import load_event
from tests.helpers.lambda_context import FakeLambdaContext
from tests.helpers.templates import template_body


@dataclass
class Recorded:
    wru: float = 0
    rru: float = 0
    sns_publishes: float = 0
    sfn_calls: Counter[str] = field(default_factory=Counter)

    def calls(self) -> HandlerCalls:
        return HandlerCalls(
            wru=self.wru,
            rru=self.rru,
            sns_publishes=self.sns_publishes,
            sfn_calls=tuple(sorted(self.sfn_calls.elements())),
        )


class Recorder:
    """Billing units of every call made through the services' shared clients."""

    def __init__(self) -> None:
        self.now = Recorded()
        for client in (aws.dynamodb(), aws.sns(), aws.stepfunctions()):
            client.meta.events.register("before-parameter-build", self._seen)

    def _seen(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name == "GetItem":
            self.now.rru += 1 if params.get("ConsistentRead") else 0.5
        elif name in {"PutItem", "UpdateItem", "DeleteItem"}:
            self.now.wru += 1
        elif name == "TransactWriteItems":
            self.now.wru += 2 * len(params["TransactItems"])
        elif name == "Publish":
            self.now.sns_publishes += 1
        elif name.startswith("SendTask"):
            self.now.sfn_calls[name] += 1

    def during(self, work: Callable[[], Any]) -> HandlerCalls:
        self.now = Recorded()
        work()
        return self.now.calls()


def _expected(service: str, action: str, outcome: str) -> HandlerCalls:
    calls = HANDLER_CALLS[(service, action, outcome)]
    return HandlerCalls(calls.wru, calls.rru, calls.sns_publishes, tuple(sorted(calls.sfn_calls)))


@pytest.fixture
def recorder(cloud: Cloud) -> Recorder:
    return Recorder()


def _send(cloud: Cloud, handler: Callable[..., Any], queue: str, template: str, body: dict[str, Any]) -> None:
    cloud.invoke(handler, cloud.deliver(queue, template, [body]))


def _payment(token: str, card: str = "tok_visa", action: str = "charge") -> dict[str, Any]:
    body = template_body("sqs_payment_charge") | {"taskToken": token, "action": action}
    body["payment"]["token"] = card
    return body


def test_payment_charge_refund_and_decline(cloud: Cloud, workflow: Workflow, recorder: Recorder) -> None:
    def send(body: dict[str, Any]) -> None:
        _send(cloud, payment_handler, "orderflow-payment", "sqs_payment_charge", body)

    charged = recorder.during(lambda: send(_payment(workflow.start().token)))
    refunded = recorder.during(lambda: send(_payment(workflow.start().token, action="refund")))
    declined = recorder.during(
        lambda: send(_payment(workflow.start().token, card="tok_decline") | {"orderId": "ord-2002"})
    )

    assert charged == _expected("payment", "charge", "ok")
    assert refunded == _expected("payment", "refund", "ok")
    assert declined == _expected("payment", "charge", "fail")


def test_inventory_reserve_release_and_out_of_stock(
    cloud: Cloud, workflow: Workflow, recorder: Recorder
) -> None:
    seed_stock("orderflow-inventory", ["SKU-1", "SKU-2"], 100)

    def send(body: dict[str, Any]) -> None:
        _send(cloud, inventory_handler, "orderflow-inventory.fifo", "sqs_inventory_reserve", body)

    def body(action: str, sku: str, quantity: int = 2) -> dict[str, Any]:
        return template_body("sqs_inventory_reserve") | {
            "taskToken": workflow.start().token,
            "action": action,
            "sku": sku,
            "quantity": quantity,
        }

    reserved = recorder.during(lambda: send(body("reserve", "SKU-1")))
    released = recorder.during(lambda: send(body("release", "SKU-1")))
    short = recorder.during(lambda: send(body("reserve", "SKU-2", quantity=5000)))
    nothing = recorder.during(lambda: send(body("release", "SKU-2")))

    assert reserved == _expected("inventory", "reserve", "ok")
    assert released == _expected("inventory", "release", "ok")
    assert short == _expected("inventory", "reserve", "fail")
    assert nothing == _expected("inventory", "release", "empty")


def test_shipping_booked_and_rejected(cloud: Cloud, workflow: Workflow, recorder: Recorder) -> None:
    def send(country: str, order_id: str) -> None:
        body = template_body("sqs_shipping_ship") | {"taskToken": workflow.start().token, "orderId": order_id}
        body["shippingAddress"]["country"] = country
        _send(cloud, shipping_handler, "orderflow-shipping", "sqs_shipping_ship", body)

    assert recorder.during(lambda: send("GB", "ord-1")) == _expected("shipping", "ship", "ok")
    assert recorder.during(lambda: send("AQ", "ord-2")) == _expected("shipping", "ship", "fail")


def test_notification_per_status_notice(cloud: Cloud, recorder: Recorder) -> None:
    notice = template_body("sqs_notification_status")
    sent = recorder.during(
        lambda: _send(
            cloud, notification_handler, "orderflow-notification", "sqs_notification_status", notice
        )
    )
    assert sent == _expected("notification", "notice", "ok")


def test_analytics_per_lifecycle_record(cloud: Cloud, recorder: Recorder) -> None:
    # The sample batch is one placed and one shipped record of an order
    counted = recorder.during(lambda: analytics_handler(load_event("kinesis_lifecycle"), FakeLambdaContext()))
    assert counted.wru == analytics_wru("placed") + analytics_wru("shipped")
