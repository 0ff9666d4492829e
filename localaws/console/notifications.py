"""Recent notifications of every topic, observed as any subscriber would: through an SQS subscription.

The console owns one queue, ``<prefix>-console-notifications``, subscribes it to each topic of the prefix (new
topics too, after a redeploy) and keeps the last few messages of each topic in memory. It starts with the
console's first request, so a stack no one watches spends nothing on it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localaws.console.readers import console_queue_name

if TYPE_CHECKING:
    from infra.naming import Names

logger = logging.getLogger(__name__)

KEEP_PER_TOPIC = 20
RESUBSCRIBE_EVERY_SECONDS = 5.0


class NotificationTap:
    """A background reader of the console's queue; ``recent()`` is what the page shows."""

    def __init__(self, clients: Callable[[str], Any], names: Names, *, keep: int = KEEP_PER_TOPIC) -> None:
        self._clients = clients
        self._names = names
        self._keep = keep
        self._recent: dict[str, deque[dict[str, Any]]] = {}
        self._subscribed: set[str] = set()
        self._queue_url: str | None = None
        self._queue_arn: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sync = 0.0

    def start(self) -> None:
        """Subscribe now (so what happens after the console opens is heard), then read in the background."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="console-notifications", daemon=True)
        try:
            self._last_sync = time.monotonic()
            self.sync()
        except Exception as exc:  # the thread tries again
            logger.debug("notification tap: first subscription failed: %s", exc)
            self._last_sync = 0.0
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def topics(self) -> list[str]:
        sns = self._clients("sns")
        arns = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page["Topics"]]
        return sorted(a for a in arns if a.rsplit(":", 1)[-1].startswith(self._names.prefix + "-"))

    def recent(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {topic: list(reversed(messages)) for topic, messages in self._recent.items()}

    def sync(self) -> None:
        """Create the queue if needed and subscribe it to topics it does not hear yet."""
        sqs, sns = self._clients("sqs"), self._clients("sns")
        if self._queue_url is None:
            url = sqs.create_queue(QueueName=console_queue_name(self._names))["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self._queue_url, self._queue_arn = url, arn
        topics = self.topics()
        new = [t for t in topics if t not in self._subscribed]
        if not new:
            return
        # On AWS the queue must let each topic send to it; emulators ignore the policy.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": self._queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=self._queue_url, Attributes={"Policy": json.dumps(policy)})
        for topic in new:
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self._queue_arn)
            self._subscribed.add(topic)
            with self._lock:
                self._recent.setdefault(topic, deque(maxlen=self._keep))

    def poll(self, wait_seconds: int = 1) -> int:
        """Read what arrived; returns how many notifications were kept."""
        if self._queue_url is None:
            return 0
        sqs = self._clients("sqs")
        messages = sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        for message in messages:
            self._keep_notification(message.get("Body", ""))
            sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _keep_notification(self, body: str) -> None:
        try:
            envelope = json.loads(body)
        except ValueError:
            return
        if not isinstance(envelope, dict) or "TopicArn" not in envelope:
            return
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
            self._recent.setdefault(envelope["TopicArn"], deque(maxlen=self._keep)).append(notification)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._last_sync > RESUBSCRIBE_EVERY_SECONDS:
                    self._last_sync = time.monotonic()
                    self.sync()
                if self._queue_url is None:
                    self._stop.wait(1.0)
                    continue
                self.poll()
            except Exception as exc:  # the endpoint may be starting, redeploying or gone: try again
                logger.debug("notification tap: %s", exc)
                if "NonExistentQueue" in str(exc):  # a fresh endpoint: subscribe again from scratch
                    self._queue_url = None
                    self._subscribed.clear()
                self._stop.wait(1.0)
