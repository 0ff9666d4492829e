"""Builds the App: context → stack, with cdk-nag's AwsSolutions checks applied."""

from __future__ import annotations

from typing import TypeVar

import aws_cdk as cdk
import cdk_nag

from infra.importer import ImportPace
from infra.naming import DEFAULT_PREFIX, Names
from infra.stack import OrderflowStack

NOTIFICATION_CHANNELS = ("recording", "sns-sms")
NumberT = TypeVar("NumberT", int, float)


class InvalidContextError(ValueError):
    """A CDK context value cannot be used."""


def build_app(app: cdk.App) -> OrderflowStack:
    names = Names(str(app.node.try_get_context("prefix") or DEFAULT_PREFIX))
    channel = str(app.node.try_get_context("notificationChannel") or "recording")
    if channel not in NOTIFICATION_CHANNELS:
        raise InvalidContextError(
            f"notificationChannel {channel!r}: expected one of {', '.join(NOTIFICATION_CHANNELS)}"
        )
    stack = OrderflowStack(
        app,
        "Orderflow",
        stack_name=names("stack"),
        names=names,
        notification_channel=channel,
        import_pace=import_pace(app),
        description="orderflow: order workflow on Step Functions with SQS, SNS, EventBridge and Kinesis",
    )
    cdk.Tags.of(stack).add("project", "orderflow")
    cdk.Tags.of(stack).add("prefix", names.prefix)
    cdk.Aspects.of(app).add(cdk_nag.AwsSolutionsChecks(verbose=True))
    return stack


def import_pace(app: cdk.App) -> ImportPace:
    """``importOrdersPerSecond``, ``importMaxQueueBacklog`` and ``importMaxRunningOrders`` (``-c name=value``
    or cdk.json)."""
    default = ImportPace()
    try:
        return ImportPace(
            orders_per_second=_number(app, "importOrdersPerSecond", float, default.orders_per_second),
            max_queue_backlog=_number(app, "importMaxQueueBacklog", int, default.max_queue_backlog),
            max_running_orders=_number(app, "importMaxRunningOrders", int, default.max_running_orders),
        )
    except ValueError as exc:
        raise InvalidContextError(str(exc)) from exc


def _number(app: cdk.App, name: str, kind: type[NumberT], default: NumberT) -> NumberT:
    value = app.node.try_get_context(name)
    if value is None:
        return default
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise InvalidContextError(f"{name}: expected a number, got {value!r}") from exc
