"""Recent notifications of every topic, observed as any subscriber would: through an SQS subscription.

The console owns one queue, ``<prefix>-console-notifications``, subscribes it to each topic of the prefix (new
topics too, after a redeploy) and keeps the last few messages of each topic in memory. It starts with the
console's first request, so a stack no one watches spends nothing on it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localaws.console.readers import console_queue_name
from localaws.console.tap import QueueTap

if TYPE_CHECKING:
    from infra.naming import Names

KEEP_PER_TOPIC = 20
RESUBSCRIBE_EVERY_SECONDS = 5.0


class NotificationTap(QueueTap):
    """A background reader of the console's queue; ``recent()`` is what the page shows."""

    thread_name = "console-notifications"

    def __init__(self, clients: Callable[[str], Any], names: Names, *, keep: int = KEEP_PER_TOPIC) -> None:
        super().__init__(clients, names)
        self._keep_per_topic = keep
        self._recent: dict[str, deque[dict[str, Any]]] = {}
        self._subscribed: set[str] = set()
        self._queue_arn = ""  # set with the queue URL, by sync
        self._last_sync = 0.0

    def topics(self) -> list[str]:
        sns = self._clients("sns")
        arns = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
        return sorted(a for a in arns if a.rsplit(":", 1)[-1].startswith(self._names.prefix + "-"))

    def recent(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {topic: list(reversed(messages)) for topic, messages in self._recent.items()}

    def sync(self) -> None:
        """Create the queue if needed and subscribe it to topics it does not hear yet."""
        self._last_sync = time.monotonic()
        sns = self._clients("sns")
        if self._queue_url is None:
            self._queue_url, self._queue_arn = self._make_queue(console_queue_name(self._names))
        topics = self.topics()
        new = [t for t in topics if t not in self._subscribed]
        if not new:
            return
        self._let_send(self._queue_url, self._queue_arn, "sns.amazonaws.com", topics)
        for topic in new:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self._queue_arn)
            self._subscribed.add(topic)
            with self._lock:
                self._recent.setdefault(topic, deque(maxlen=self._keep_per_topic))

    def _sync_due(self) -> bool:
        # New topics appear with a redeploy: look for them every few seconds.
        return time.monotonic() - self._last_sync > RESUBSCRIBE_EVERY_SECONDS

    def _forget(self) -> None:
        super()._forget()
        self._subscribed.clear()
        self._last_sync = 0.0

    def _keep(self, body: str) -> int:
        try:
            envelope = json.loads(body)
        except ValueError:
            return 0
        if not isinstance(envelope, dict) or "TopicArn" not in envelope:
            return 0
        text = envelope.get("Message", "")
        try:
            message: Any = json.loads(text)
        except (TypeError, ValueError):
            message = text
        notification = {
            "at": envelope.get("Timestamp"),
            "subject": envelope.get("Subject"),
            "message": message,
            "attributes": {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()},
        }
        with self._lock:
            recent = self._recent.setdefault(envelope["TopicArn"], deque(maxlen=self._keep_per_topic))
            recent.append(notification)
        return 1
