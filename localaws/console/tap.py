"""The console's background readers: each owns one SQS queue, keeps it fed, and reads it on a thread.

A tap starts with the console's first request, so a stack no one watches spends nothing on it. What feeds
the queue (SNS subscriptions, an EventBridge rule) and what is kept of each message is the subclass's part.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.naming import Names

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class QueueTap:
    """``sync()`` makes the queue and what feeds it; ``_keep(body)`` keeps a message (1) or not (0)."""

    thread_name = "console-tap"

    def __init__(self, clients: Callable[[str], Any], names: Names) -> None:
        self._clients = clients
        self._names = names
        self._queue_url: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sync now (so what happens after the console opens is heard), then read in the background."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        try:
            self.sync()
        except Exception as exc:  # the thread tries again
            logger.debug("%s: first sync failed: %s", self.thread_name, exc)
            self._forget()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def sync(self) -> None:
        raise NotImplementedError

    def _make_queue(self, name: str) -> tuple[str, str]:
        """The tap's queue (made if missing): its URL and ARN."""
        sqs = self._clients("sqs")
        url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, str(arn)

    def _let_send(self, url: str, arn: str, service: str, sources: str | list[str]) -> None:
        """On AWS the queue must let ``service`` send to it from ``sources``; emulators ignore the policy."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": sources}},
                }
            ],
        }
        self._clients("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})

    def _sync_due(self) -> bool:
        return self._queue_url is None

    def _forget(self) -> None:
        """The endpoint lost the queue (or never made it): the next round syncs from scratch."""
        self._queue_url = None

    def _keep(self, body: str) -> int:
        raise NotImplementedError

    def poll(self, wait_seconds: int = 1) -> int:
        """Read what arrived; returns how many messages were kept."""
        if self._queue_url is None:
            return 0
        sqs = self._clients("sqs")
        messages = sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        kept = 0
        for message in messages:
            kept += self._keep(message.get("Body", ""))
            sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return kept

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._sync_due():
                    self.sync()
                if self._queue_url is None:
                    self._stop.wait(RETRY_SECONDS)
                    continue
                self.poll()
            except Exception as exc:  # the endpoint may be starting, redeploying or gone: try again
                logger.debug("%s: %s", self.thread_name, exc)
                if "NonExistentQueue" in str(exc):
                    self._forget()
                self._stop.wait(RETRY_SECONDS)
