"""``LocalAws``: the whole local AWS of orderflow in one object (endpoint, deploy, Lambda, deliveries)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from infra.naming import Names, configured_prefix
from localaws.console.app import CONSOLE_PATH, make_console_app, mount_console
from localaws.delivery.alarms import AlarmEvaluator
from localaws.delivery.eventbridge import EventBridgeDelivery
from localaws.delivery.kinesis import KinesisEventSource
from localaws.delivery.s3 import S3Notifications
from localaws.delivery.sns import SnsDelivery
from localaws.delivery.sqs import SqsEventSource
from localaws.deploy.deployer import DeployReport, TemplateDeployer, template_fingerprint
from localaws.endpoint.access_settings import AccessSettings
from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_PORT, DEFAULT_REGION, local_client
from localaws.endpoint.server import LocalEndpoint
from localaws.heap import Heap, wanted
from localaws.lambda_.runtime import Invoker, LambdaRuntime, install_moto_hooks
from localaws.patches import corrections, limits, speedups
from localaws.stepfunctions import wait_scale as wait_scale_module
from localaws.stepfunctions.failure_logs import WORKFLOW_FAILURE_LINES
from localaws.stepfunctions.mock_config import MOCK_CONFIG
from localaws.stepfunctions.status_events import STATUS_EVENTS

logger = logging.getLogger(__name__)


class DeliveryMechanism(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class DeliveryMechanismFactory(Protocol):
    """The constructor every delivery mechanism shares."""

    def __call__(
        self, *, invoker: Invoker, region: str, account_id: str, time_scale: float
    ) -> DeliveryMechanism: ...


# The mechanisms AWS runs between services that moto does not (or not faithfully); one module each.
DELIVERY_MECHANISMS: tuple[DeliveryMechanismFactory, ...] = (
    EventBridgeDelivery,
    SqsEventSource,
    KinesisEventSource,
    SnsDelivery,
    AlarmEvaluator,
    S3Notifications,
)


class LocalAws:
    """Start moto on 127.0.0.1, deploy ``cdk_out``, run Lambdas and deliveries; ``stop`` undoes it all."""

    def __init__(
        self,
        *,
        cdk_out: Path,
        port: int = DEFAULT_PORT,
        region: str = DEFAULT_REGION,
        run_dir: Path = Path(".localaws"),
        time_scale: float = 1.0,
        workers_per_function: int = 2,
        prewarm: bool = True,
        watch_assembly: bool = True,
        access: AccessSettings | None = None,
        wait_scale: float | None = None,
        execution_wait_scales: Iterable[wait_scale_module.ExecutionScale] = (),
        settle_heap: bool | None = None,
    ) -> None:
        """``access``: host names and web origins to serve besides the endpoint's own (none by default).

        ``wait_scale`` multiplies the Step Functions engine's own waits (default ``$ORDERFLOW_WAIT_SCALE``,
        or 1); ``execution_wait_scales`` gives the executions whose input a rule matches a scale of their own.

        ``settle_heap`` (default: unless ``$ORDERFLOW_SETTLE_HEAP`` is 0) tunes the garbage collector of this
        process once the stack is up, and of each Lambda worker once its handler is loaded and has run once
        (``localaws.heap``); ``stop()`` puts this process's collector back.
        """
        self.cdk_out = cdk_out
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.run_dir = run_dir
        self.time_scale = time_scale
        self.wait_scale = (
            wait_scale_module.from_environment()
            if wait_scale is None
            else wait_scale_module.parse(str(wait_scale), where="wait_scale")
        )
        self.execution_wait_scales = tuple(execution_wait_scales)
        self.prewarm = prewarm
        self.watch_assembly = watch_assembly
        self._workers_per_function = workers_per_function
        self.settle_heap = wanted() if settle_heap is None else settle_heap
        self._heap = Heap()
        # The console is the one page of ours a user may reach by a link from another site.
        self.endpoint = LocalEndpoint(
            port=port, wrap=self._mount_console, access=access, pages=(CONSOLE_PATH,)
        )
        self._console: Any = None
        self._lambda: LambdaRuntime | None = None
        self._deployer: TemplateDeployer | None = None
        self._mechanisms: list[DeliveryMechanism] = []
        self._report: DeployReport | None = None
        self._deploy_lock = threading.Lock()
        self._fingerprint: tuple[tuple[str, float], ...] = ()
        self._stop_watch = threading.Event()
        self._watcher: threading.Thread | None = None
        self.on_redeploy: list[Any] = []  # callables(DeployReport), e.g. the CLI printing what changed

    # -- accessors ----------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self.endpoint.url

    @property
    def invoker(self) -> LambdaRuntime:
        if self._lambda is None:
            raise RuntimeError("LocalAws is not started")
        return self._lambda

    @property
    def report(self) -> DeployReport:
        if self._report is None:
            raise RuntimeError("nothing deployed yet")
        return self._report

    @property
    def console(self) -> Any:
        """The console app mounted at ``/_console`` (a ``localaws.console.app.ConsoleApp``)."""
        if self._console is None:
            raise RuntimeError("LocalAws is not started")
        return self._console

    @property
    def console_token(self) -> str:
        """This start's secret the console's actions must carry (its page has it; tests and scripts may)."""
        return str(self.console.token)

    @property
    def console_url(self) -> str:
        return f"{self.endpoint_url}{CONSOLE_PATH}/"

    def _mount_console(self, aws_apis: Any) -> Any:
        def console(environ: dict[str, Any], start_response: Any) -> Any:
            if self._console is None:  # the endpoint answers before the first deploy has finished
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"the console starts once the stack is deployed"]
            return self._console(environ, start_response)

        return mount_console(aws_apis, console)

    def client(self, service: str) -> Any:
        """A boto3 client over HTTP to this endpoint (what a user or a Lambda handler would use)."""
        return local_client(service, endpoint_url=self.endpoint_url, region=self.region)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> DeployReport:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.report

    def _start(self) -> None:
        corrections.CORRECTIONS.install()
        limits.SIZE_LIMITS.install()
        MOCK_CONFIG.install()
        STATUS_EVENTS.install()
        WORKFLOW_FAILURE_LINES.install()
        wait_scale_module.install(self.wait_scale, self.execution_wait_scales)
        speedups.install()
        self.endpoint.start()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lambda = LambdaRuntime(
            endpoint_url=self.endpoint_url,
            region=self.region,
            account_id=self.account_id,
            log_dir=self.run_dir / "logs",
            workers_per_function=self._workers_per_function,
            endpoint_socket=self.endpoint.socket_path,
            settle_heap=self.settle_heap,
        )
        install_moto_hooks(self._lambda)
        self._deployer = TemplateDeployer(
            region=self.region, account_id=self.account_id, run_dir=self.run_dir
        )
        report = self.deploy()
        if self.prewarm:
            self._lambda.prewarm(1, leave_out=report.custom_resource_providers)
        # The console shows the stack synthesized from the project beside cdk.out (its cdk.json's prefix).
        # Its notification tap starts with the first console request: no CPU for a console no one opened.
        self._console = make_console_app(
            self.client, names=Names(configured_prefix(self.cdk_out.parent / "cdk.json"))
        )
        for mechanism_class in DELIVERY_MECHANISMS:
            mechanism = mechanism_class(
                invoker=self.invoker,
                region=self.region,
                account_id=self.account_id,
                time_scale=self.time_scale,
            )
            mechanism.start()
            self._mechanisms.append(mechanism)
        if self.watch_assembly:
            self._watcher = threading.Thread(target=self._watch, name="localaws-redeploy", daemon=True)
            self._watcher.start()
        if self.settle_heap:
            self._heap.settle()  # the deployed world is long-lived from here on

    def deploy(self) -> DeployReport:
        """Deploy (or redeploy) the cloud assembly; new functions and changed ones get fresh workers."""
        if self._deployer is None or self._lambda is None:
            raise RuntimeError("LocalAws is not started")
        with self._deploy_lock:
            self._fingerprint = template_fingerprint(self.cdk_out)
            report = self._deployer.deploy(self.cdk_out)
            for spec in report.functions:
                self._lambda.register(spec)
            self._report = report
        return report

    def _watch(self) -> None:
        # A synth rewrites cdk.out; checking mtimes once a second is off the hot path.
        while not self._stop_watch.wait(1.0):
            try:
                if template_fingerprint(self.cdk_out) == self._fingerprint:
                    continue
                self._stop_watch.wait(0.5)  # let the synth finish writing
                report = self.deploy()
                for callback in self.on_redeploy:
                    callback(report)
            except Exception:
                logger.exception("redeploy of %s failed; the previous deployment stays", self.cdk_out)

    def stop(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        for mechanism in reversed(self._mechanisms):
            try:
                mechanism.stop()
            except Exception:
                logger.exception("stopping %s failed", type(mechanism).__name__)
        self._mechanisms.clear()
        if self._lambda is not None:
            self._lambda.stop()
            self._lambda = None
        if self._console is not None:
            self._console.close()
            self._console = None
        self.endpoint.stop()
        speedups.uninstall()
        wait_scale_module.uninstall()
        WORKFLOW_FAILURE_LINES.uninstall()
        STATUS_EVENTS.uninstall()
        MOCK_CONFIG.uninstall()
        limits.SIZE_LIMITS.uninstall()
        corrections.CORRECTIONS.uninstall()
        self._heap.restore()

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
