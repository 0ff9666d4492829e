"""One LocalAws for the whole workflow suite, and every execution started at once.

Executions are started together at the beginning of the session and each test then waits for its own, so
the suite takes about as long as its slowest execution, not the sum of them all.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from infra.naming import DEFAULT_PREFIX, Names
from localaws.lambda_.sdk_channel import SdkChannel
from localaws.stepfunctions import wait_scale
from localaws.stepfunctions.mock_config_names import ENVIRONMENT_VARIABLE, RETRY_INTERVAL_SCALE_VARIABLE
from services.shared.contract import TOKEN_HANG
from tests.helpers.assembly import CDK_OUT, synthesized_app
from tests.workflows import scenarios, test_backend_selection
from tests.workflows.backends import (
    MockedWorkflow,
    aws_client,
    choose_backends,
    workflow_on_step_functions_local,
)
from tests.workflows.integration import OrderDesk, PostedOrder, charge_left_open
from tests.workflows.polling import ExecutionRecord, wait_for_execution

if TYPE_CHECKING:
    from localaws.local_aws import LocalAws

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED = Path(__file__).with_name("documented")
DOCUMENTED_TEST_CASES = ("HappyPath", "RetryPath", "HybridPath")
# CloudWatch periods, batching windows and backoffs are multiplied by this, as in the demo.
TIME_SCALE = 1 / 60
# The engine's Wait, heartbeat, timeout and retry waits are multiplied by this (ORDERFLOW_WAIT_SCALE set in
# the environment wins): the payment heartbeat (120 s, from infra/timing.py) takes 60 s. Not less: the
# services answer in real time, and a payment's first heartbeat comes once the payment service has taken
# the request, which takes seconds when every order of the session arrives at once, and more on a loaded
# machine (with 6 s and 20 s heartbeats, orders timed out there on the shared 2-core machine; at 0.25 an
# inventory callback timed out).
WAIT_SCALE = 0.5
# The heartbeat-timeout order (and it alone: its input holds the payment token that never answers) runs on a
# clock of its own (wait_scale.ExecutionScale), at the suite's scale: its 120 s heartbeat would run out 60 s
# after the payment service took the request and renewed it, time enough for the service to take it on any
# load. The suite does not wait that out: once the payment log shows the charge taken, it moves that clock
# past the heartbeat (wait_scale.advance), which then runs out as on AWS, after the charge, and the order is
# refunded and cancelled at the suite's scale (_end_the_hung_payment).
HANG_WAIT_SCALE = WAIT_SCALE


# The order the modules run in: the session's executions start with the first test that needs them (the
# TestState tests' fixture asks for the stack: states/conftest.py), and the tests that wait on none of them
# (TestState, subprocesses, pure checks) run while they are in flight; the integration orders, whose payment
# waits in real time (the transient order's redeliveries), are waited for last.
RUN_ORDER = (
    "states",
    "test_scenarios.py",
    "test_mock_config.py",
    "test_backend_selection.py",
    "test_deviations.py",
    "test_status_events.py",
    "test_integration.py",
)


def _run_order(item: pytest.Item) -> int:
    relative = item.path.relative_to(Path(__file__).parent).parts
    return RUN_ORDER.index(relative[0]) if relative[0] in RUN_ORDER else len(RUN_ORDER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [item for item in items if here in item.path.parents]
    if not ours:
        return
    # Our items keep their places in the session; only their order among themselves changes.
    slots = iter(sorted(ours, key=_run_order))
    items[:] = [next(slots) if here in item.path.parents else item for item in items]


def pytest_collection_finish(session: pytest.Session) -> None:
    # The backend-selection children (fresh interpreters, seconds of imports each) start now, on the core
    # the TestState tests and the stack's deploy leave idle; their tests read them later.
    test_backend_selection.start_early(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Children whose tests never ran (a session stopped early, -x) are not left running.
    test_backend_selection.stop_early()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Every collection after pytest's unraisable-exception check (its pytest_unconfigure, which runs before
    # this one) scans every object still alive: in this process the stopped stack's world (moto, botocore's
    # models, the parse trees). Two more come: the same check again in pytest's cleanup stack (about 0.4 s of
    # CPU, finding nothing), and CPython's finalisation at exit (about 1 s). Frozen now, once that first
    # check has collected the garbage and reported what it raised, they are left to the process's end like
    # the rest of its memory; what becomes garbage after this is still collected by both.
    gc.freeze()


def _prefix() -> str:
    context = json.loads((REPO / "cdk.json").read_text()).get("context", {})
    return str(context.get("prefix", DEFAULT_PREFIX))


@dataclass
class Started:
    """What the session started, per target, or why a target does not run here."""

    mocked: MockedWorkflow | None = None
    mocked_skip: str = ""
    mocked_runs: dict[str, Future[ExecutionRecord]] = field(default_factory=dict)  # by test case
    documented: MockedWorkflow | None = None
    documented_runs: dict[str, Future[ExecutionRecord]] = field(default_factory=dict)
    local: LocalAws | None = None
    embedded_skip: str = ""
    desks: dict[str, OrderDesk] = field(default_factory=dict)  # "embedded" | "aws"
    posted: dict[str, list[PostedOrder]] = field(default_factory=dict)
    integration_skip: dict[str, str] = field(default_factory=dict)
    aws_error: str = ""  # what AWS answered when the orders were posted, if it refused
    hang_clock: threading.Thread | None = None  # moves the hung payment's clock once its charge is taken
    channel: SdkChannel | None = None  # the suite's own clients' way to the embedded endpoint
    clients: dict[str, Any] = field(default_factory=dict)  # one per service: botocore clients are thread-safe

    def client(self, service: str) -> Any:
        """A client of the embedded endpoint for the suite's own calls (starting, polling, reading back):
        the client ``LocalAws.client`` makes, its requests sent on the endpoint's Unix socket as the Lambda
        workers' are (localaws.lambda_.sdk_channel), to the same application, without HTTP's work. One per
        service for the session (the suite asked for 20, at 10-20 ms of CPU each)."""
        assert self.local is not None
        with _CLIENTS_LOCK:
            if service not in self.clients:
                made = self.local.client(service)
                if self.channel is not None:
                    made.meta.events.register("before-send", self.channel.before_send)
                self.clients[service] = made
            return self.clients[service]


_CLIENTS_LOCK = threading.Lock()


def _start_documented(result: Started, readers: ThreadPoolExecutor, run_id: str) -> None:
    """The Step Functions Local guide's example, as documented: its state machine, its queue, its file."""
    local = result.local
    assert local is not None
    sfn = result.client("stepfunctions")
    result.client("sqs").create_queue(QueueName="myQueue")
    name = f"LambdaSQSIntegration-{run_id}"
    arn = sfn.create_state_machine(
        name=name,
        definition=(DOCUMENTED / "LambdaSQSIntegration.asl.json").read_text(),
        roleArn="arn:aws:iam::123456789012:role/service-role/LambdaSQSIntegration",
    )["stateMachineArn"]
    # The file names the state machine LambdaSQSIntegration: this run's copy names this run's machine.
    config = json.loads((DOCUMENTED / "MockConfigFile.json").read_text())
    config["StateMachines"] = {name: config["StateMachines"]["LambdaSQSIntegration"]}
    copy = Path(local.run_dir) / "MockConfigFile.json"
    copy.write_text(json.dumps(config))
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENVIRONMENT_VARIABLE, str(copy))
        result.documented = MockedWorkflow(engine="embedded", sfn=sfn, state_machine_arn=arn)
        for case in DOCUMENTED_TEST_CASES:
            execution = result.documented.start(case, {}, run_id)
            result.documented_runs[case] = readers.submit(wait_for_execution, sfn, execution, timeout=90)


# Package scope: moto's state is per process, so this stack must be gone before another package deploys one.
@pytest.fixture(scope="package")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """Start LocalAws (when the embedded engine is a target) and every execution of the suite."""
    # Decided first: once LocalAws has started moto, boto3 finds moto's fake credentials and talks to moto.
    backends = choose_backends()
    cdk_out = synthesized_app(CDK_OUT)
    run_id = uuid.uuid4().hex[:8]
    names = Names(_prefix())
    result = Started(embedded_skip=backends.embedded_skip, mocked_skip=backends.embedded_skip)
    result.integration_skip["aws"] = backends.aws_skip
    if not backends.embedded:
        result.integration_skip["embedded"] = backends.embedded_skip
    # Waiting (and reading each history) happens in the background, while the other executions run.
    readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="workflow-suite")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(ENVIRONMENT_VARIABLE, str(scenarios.MOCK_CONFIG_FILE))
            # Every retry and call number stays; only the dead time between retries goes (embedded only).
            env.setenv(RETRY_INTERVAL_SCALE_VARIABLE, "0")
            env.setenv(
                wait_scale.ENVIRONMENT_VARIABLE,
                os.environ.get(wait_scale.ENVIRONMENT_VARIABLE, str(WAIT_SCALE)),
            )
            if backends.sfn_endpoint:
                result.mocked = workflow_on_step_functions_local(backends.sfn_endpoint, cdk_out)
            if backends.embedded:
                _start_embedded(result, cdk_out, tmp_path_factory, names=names)
                # The integration orders first: they wait on real services and the payment heartbeat.
                result.posted["embedded"] = result.desks["embedded"].post_all()
                result.hang_clock = _end_the_hung_payment(result)
                # Then what waits on no one: the transient order's real-time waits begin at its first payment.
                _start_documented(result, readers, run_id)
            _start_scenarios(result, readers, run_id)
            if backends.aws:
                _post_on_aws(result, names)
            yield result
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
        if result.hang_clock is not None:
            result.hang_clock.join()
        if result.channel is not None:
            result.channel.close()
        if result.local is not None:
            result.local.stop()


def _start_embedded(
    result: Started, cdk_out: Path, tmp_path_factory: pytest.TempPathFactory, *, names: Names
) -> None:
    # Imported here: a run against AWS alone (ORDERFLOW_E2E=1, or the backend-selection test's child
    # pytest) never starts LocalAws, and importing it (moto, the deployer, the runtime) is most of its CPU.
    from localaws.local_aws import LocalAws  # noqa: PLC0415 - only the embedded target needs it

    local = LocalAws(
        cdk_out=cdk_out,
        port=0,
        run_dir=tmp_path_factory.mktemp("localaws-workflows"),
        time_scale=TIME_SCALE,
        watch_assembly=False,
        # One worker per function: every one is started (and imports its handler) before the orders come,
        # where a second one would be started mid-run for each function that gets two requests at once, and
        # cost as much CPU as the requests it takes. Concurrency within a function is not what this suite
        # tests; the requests of one function queue as on a function with reserved concurrency 1.
        workers_per_function=1,
        execution_wait_scales=[wait_scale.ExecutionScale(TOKEN_HANG, HANG_WAIT_SCALE)],
    )
    local.start()  # a start that fails stops what it started
    result.local = local
    if local.endpoint.socket_path is not None:
        result.channel = SdkChannel(local.endpoint.socket_path, local.endpoint_url)
    machine = local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"]
    result.mocked = MockedWorkflow("embedded", result.client("stepfunctions"), machine)
    result.desks["embedded"] = OrderDesk(result.client, names)


def _end_the_hung_payment(result: Started, *, timeout: float = 120.0) -> threading.Thread:
    """In the background: once the payment service has logged that it took the hung order's charge, move
    that execution's clock past the heartbeat its payment task waits on (read from its history)."""
    local = result.local
    assert local is not None
    order = next(o for o in result.posted["embedded"] if o.scenario.token == TOKEN_HANG)
    sfn = result.client("stepfunctions")
    machine = result.desks["embedded"].machine_arn
    wanted = set(order.event_ids)

    def hung_execution() -> str | None:
        for execution in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described.get("input") or "{}").get("id") in wanted:
                return str(execution["executionArn"])
        return None

    def move_the_clock() -> None:
        deadline = time.monotonic() + timeout
        while charge_left_open(local.run_dir / "logs", order.order_id) is None:
            if time.monotonic() > deadline:
                return  # the heartbeat runs out at the suite's scale; the test says the charge was not taken
            time.sleep(0.05)
        arn = hung_execution()
        if arn is None:
            return  # it already ended: the test reports how
        events = sfn.get_execution_history(executionArn=arn)["events"]
        scheduled = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
        wait_scale.advance(TOKEN_HANG, scheduled[-1]["heartbeatInSeconds"])

    thread = threading.Thread(target=move_the_clock, name="workflow-suite-hang-clock", daemon=True)
    thread.start()
    return thread


def _start_scenarios(result: Started, readers: ThreadPoolExecutor, run_id: str) -> None:
    if result.mocked is None:
        return
    # The slowest scenario goes first; the rest overlap with it.
    for scenario in sorted(scenarios.SCENARIOS, key=lambda s: s.test_case != "RefundKeepsFailing"):
        arn = result.mocked.start(scenario.test_case, scenario.event, run_id)
        result.mocked_runs[scenario.test_case] = readers.submit(
            wait_for_execution, result.mocked.sfn, arn, timeout=90
        )


def _post_on_aws(result: Started, names: Names) -> None:
    """Post the integration orders on the deployed stack; AWS's refusal fails those scenarios only."""
    try:
        desk = OrderDesk(aws_client, names)
        result.posted["aws"] = desk.post_all()
    except (BotoCoreError, ClientError) as exc:
        result.aws_error = f"the deployed stack did not answer: {type(exc).__name__}: {exc}"
        return
    result.desks["aws"] = desk


def mocked_workflow(started: Started) -> MockedWorkflow:
    if started.mocked is None:
        pytest.skip(started.mocked_skip)
    return started.mocked


def embedded(started: Started) -> LocalAws:
    if started.local is None:
        pytest.skip(started.embedded_skip)
    return started.local


def scenario_ids(items: Any) -> list[str]:
    return [item.name for item in items]
