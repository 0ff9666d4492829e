"""Speed-up of moto's SQS.

* ``sqs_queue_attributes`` -- moto builds every queue attribute (three scans of the queue, two clock reads
  per message) whenever it reads one, e.g. ContentBasedDeduplication on each SendMessage; we count the
  messages in one scan with one clock read. Same dict, same values. moto's functions that read only
  ``ContentBasedDeduplication`` off it (``UNCOUNTED_READERS``: SendMessage on every message, a FIFO
  queue's checks and ``add_message``; recognised by their code, each checked by
  ``tests/localaws/patches/test_sqs_attributes.py`` to read nothing else) get the dict without the three
  counts: no scan of the queue at all. A queue nothing drains (the engine benchmark's) was scanned whole on
  every SendMessage.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.sqs import models as sqs_models

from localaws.patches import registry
from localaws.patches.speedups.callers import KnownCallers

_QUEUE_ATTRIBUTES = "moto.sqs.models.Queue.attributes"

_COUNTED_ATTRIBUTES = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    }
)
_attribute_fields: dict[str, str] = {}
# moto's functions that read only ContentBasedDeduplication off Queue.attributes.
UNCOUNTED_READERS: tuple[str, ...] = (
    "moto.sqs.models.SQSBackend.send_message",
    "moto.sqs.models.SQSBackend._validate_message",
    "moto.sqs.models.Queue.add_message",
)
_UNCOUNTED = KnownCallers(UNCOUNTED_READERS)


def _attribute_field(attribute: str) -> str:
    field_name = _attribute_fields.get(attribute)
    if field_name is None:
        field_name = _attribute_fields[attribute] = camelcase_to_underscores(attribute)
    return field_name


def _message_counts(queue: Any) -> dict[str, int]:
    """The three approximate counts in one pass, with moto's definitions of visible and delayed."""

    now = sqs_models.unix_time_millis()  # looked up per call: the SQS event source may swap moto's clock
    available = delayed = not_visible = 0
    for message in list(queue._messages):
        is_visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        delayed += is_delayed
        not_visible += not is_visible
        available += is_visible and not is_delayed
    return {
        "ApproximateNumberOfMessages": available,
        "ApproximateNumberOfMessagesDelayed": delayed,
        "ApproximateNumberOfMessagesNotVisible": not_visible,
    }


def _queue_attributes(queue: Any) -> dict[str, Any]:
    """moto's ``Queue.attributes``: same keys in the same order, same values, one scan of the messages (none,
    and no counts, for a caller that reads only ``ContentBasedDeduplication``)."""
    counted = not _UNCOUNTED.called_from(sys._getframe(1))
    counts = _message_counts(queue) if counted else {}
    result: dict[str, Any] = {}
    for attribute in queue.BASE_ATTRIBUTES:
        if attribute in _COUNTED_ATTRIBUTES:
            if counted:
                result[attribute] = counts[attribute]
        else:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.fifo_queue:
        for attribute in queue.FIFO_ATTRIBUTES:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.kms_master_key_id:
        for attribute in queue.KMS_ATTRIBUTES:
            result[attribute] = getattr(queue, _attribute_field(attribute))
    if queue.policy:
        result["Policy"] = queue.policy
    if queue.redrive_policy:
        result["RedrivePolicy"] = json.dumps(queue.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


def clear() -> None:
    _attribute_fields.clear()


SQS_QUEUE_ATTRIBUTES = registry.PatchSet(
    "sqs_queue_attributes",
    [registry.Patch(_QUEUE_ATTRIBUTES, property(_queue_attributes), "count a queue's messages in one scan")],
    reads=[
        (
            "moto.sqs.models.unix_time_millis",
            "moto's SQS clock (visible / delayed), read once per attribute build",
        ),
        ("moto.core.utils.camelcase_to_underscores", "attribute name -> Queue field, cached"),
        ("moto.sqs.models", "the module whose clock the SQS event source may swap, read per call"),
        ("moto.sqs.models.Queue._messages", "every message of the queue, counted in one scan"),
        *(
            (reader, "reads only ContentBasedDeduplication off Queue.attributes")
            for reader in UNCOUNTED_READERS
        ),
        *(
            (queue_field, "Queue.attributes rebuilt with moto's definitions")
            for queue_field in (
                "moto.sqs.models.Queue.FIFO_ATTRIBUTES",
                "moto.sqs.models.Queue.KMS_ATTRIBUTES",
                "moto.sqs.models.Message.visible",
                "moto.sqs.models.Message.delayed",
            )
        ),
    ],
)
