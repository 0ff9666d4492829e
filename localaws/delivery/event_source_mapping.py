"""What the SQS and Kinesis event sources share: keeping one worker per mapping (or per shard) in step with
the event-source mappings moto holds, and taking moto's own synchronous delivery away from those mappings.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from moto.awslambda.utils import get_backend

from localaws.patches import registry

if TYPE_CHECKING:
    from localaws.lambda_.runtime import Invoker

logger = logging.getLogger(__name__)

registry.register(
    "moto.awslambda.utils.get_backend", "the Lambda backend whose event-source mappings the pollers adopt"
)
registry.register_attributes(
    "moto.awslambda.models.EventSourceMapping",
    ["uuid", "event_source_arn"],
    "which mappings exist, and for which source service",
)
registry.register_attributes(
    "moto.awslambda.models.LambdaBackend",
    ["get_event_source_mapping", "list_event_source_mappings"],
    "the mappings to run, re-read at each sync",
)

RESYNC_SECONDS = 1.0  # new, deleted or disabled mappings are noticed within this (or at the next send)


class MappingWorker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float) -> None: ...


WorkerKey = tuple[str, str]  # (mapping uuid, part: "" for a queue, the shard id for a stream)


class MappedEventSource(ABC):
    """Every mapping of one account and region whose source is ``source_service``."""

    source_service: ClassVar[str]
    # moto hooks (wake workers on send, adopt new mappings) that stay in while any source of the kind runs
    patches: ClassVar[registry.PatchesInUse[Any]]
    resync_seconds: ClassVar[float] = RESYNC_SECONDS

    def __init__(self, *, invoker: Invoker, region: str, account_id: str, time_scale: float = 1.0) -> None:
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        self.time_scale = time_scale
        self._workers: dict[WorkerKey, MappingWorker] = {}
        self._adopted: dict[str, tuple[Any, str, Any]] = {}  # uuid → (queue or stream, its key, the mapping)
        self._sync_lock = threading.RLock()
        self._stop = threading.Event()
        self._resync_thread: threading.Thread | None = None

    # -- what each source defines --------------------------------------------------------------------

    @abstractmethod
    def _source_of(self, esm: Any) -> tuple[Any, str] | None:
        """The moto queue or stream the mapping reads, and the key moto files the mapping under on it."""

    @abstractmethod
    def _workers_for(self, esm: Any, source: Any) -> dict[WorkerKey, Callable[[], MappingWorker]]:
        """The workers this mapping needs, by key, each with its factory."""

    # -- shared ------------------------------------------------------------------------------------------

    def _lambda_backend(self) -> Any:

        return get_backend(self.account_id, self.region)

    def mapping(self, uuid: str) -> Any | None:
        return self._lambda_backend().get_event_source_mapping(uuid)

    def start(self) -> None:
        self._stop.clear()
        self.patches.acquire(self, account_id=self.account_id, region=self.region)
        self.sync()
        self._resync_thread = threading.Thread(
            target=self._resync_loop, name=f"{self.source_service}-esm-resync", daemon=True
        )
        self._resync_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.patches.release(self, account_id=self.account_id, region=self.region)
        with self._sync_lock:
            workers, self._workers = list(self._workers.values()), {}
            for worker in workers:
                worker.stop()
            for holder, key, esm in self._adopted.values():
                holder.lambda_event_source_mappings[key] = esm  # moto gets its delivery back
            self._adopted.clear()
        for worker in workers:
            worker.join(5.0)
        if self._resync_thread is not None:
            self._resync_thread.join(5.0)

    def _resync_loop(self) -> None:
        while not self._stop.wait(self.resync_seconds):
            try:
                self.sync()
            except Exception:
                logger.exception("re-reading %s event-source mappings failed", self.source_service)

    def sync(self) -> None:
        """Match the workers to the mappings moto holds now; take moto's own delivery away from them."""
        with self._sync_lock:
            if self._stop.is_set():
                return
            mappings: dict[str, Any] = {
                esm.uuid: esm
                for esm in self._lambda_backend().list_event_source_mappings(None, None)
                if esm.event_source_arn.split(":")[2] == self.source_service
            }
            for uuid, esm in mappings.items():
                found = self._source_of(esm)
                source = None
                if found is not None:
                    source, key = found
                    taken = source.lambda_event_source_mappings.pop(key, None)
                    if taken is not None:
                        self._adopted[uuid] = (source, key, taken)
                for worker_key, make in self._workers_for(esm, source).items():
                    if worker_key not in self._workers:
                        worker = make()
                        self._workers[worker_key] = worker
                        worker.start()
            for worker_key in [k for k in self._workers if k[0] not in mappings]:
                self._workers.pop(worker_key).stop()
                self._adopted.pop(worker_key[0], None)
