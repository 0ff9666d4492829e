"""One LocalAws for the whole workflow suite, and every execution started at once.

Executions are started together at the beginning of the session and each test then waits for its own, so
the suite takes about as long as its slowest execution, not the sum of them all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.naming import DEFAULT_PREFIX, Names
from localaws.local_aws import LocalAws
from localaws.stepfunctions.mock_config import ENVIRONMENT_VARIABLE, RETRY_INTERVAL_SCALE_VARIABLE
from tests.workflows import scenarios
from tests.workflows.backends import (
    MockedWorkflow,
    e2e_requested,
    external_sfn_endpoint,
    workflow_on_step_functions_local,
)
from tests.workflows.integration import OrderDesk, PostedOrder
from tests.workflows.polling import ExecutionRecord, wait_for_execution

REPO = Path(__file__).resolve().parents[2]
CDK_OUT = REPO / "cdk.out"
DOCUMENTED = Path(__file__).with_name("documented")
DOCUMENTED_TEST_CASES = ("HappyPath", "RetryPath", "HybridPath")
# CloudWatch periods, batching windows and backoffs are multiplied by this, as in the demo.
TIME_SCALE = 1 / 60


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


def _aws_client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


def _aws_credentials() -> bool:
    return boto3.Session().get_credentials() is not None


def _start_documented(local: LocalAws, run_id: str) -> tuple[MockedWorkflow, dict[str, str]]:
    """The Step Functions Local guide's example, as documented: its state machine, its queue, its file."""
    sfn = local.client("stepfunctions")
    local.client("sqs").create_queue(QueueName="myQueue")
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
        workflow = MockedWorkflow(engine="embedded", sfn=sfn, state_machine_arn=arn)
        runs = {case: workflow.start(case, {}, run_id) for case in DOCUMENTED_TEST_CASES}
    return workflow, runs


# Package scope: moto's state is per process, so this stack must be gone before another package deploys one.
@pytest.fixture(scope="package")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """Start LocalAws (when the embedded engine is the target) and every execution of the suite."""
    run_id = uuid.uuid4().hex[:8]
    names = Names(_prefix())
    result = Started()
    # Waiting (and reading each history) happens in the background, while the other executions run.
    readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="workflow-suite")
    endpoint = external_sfn_endpoint()
    if not (CDK_OUT / "manifest.json").is_file():
        pytest.skip("no synthesized app in cdk.out/: run `make synth` first")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENVIRONMENT_VARIABLE, str(scenarios.MOCK_CONFIG_FILE))
        # Every retry and call number stays; only the dead time between retries goes (embedded engine only).
        env.setenv(RETRY_INTERVAL_SCALE_VARIABLE, "0")
        if endpoint:
            result.mocked = workflow_on_step_functions_local(endpoint, CDK_OUT)
            result.embedded_skip = (
                f"the Step Functions endpoint is {endpoint} (AWS_ENDPOINT_URL_SFN / SFN_ENDPOINT): "
                "tests of the embedded engine and its integration scenarios run without it"
            )
        else:
            local = LocalAws(
                cdk_out=CDK_OUT,
                port=0,
                run_dir=tmp_path_factory.mktemp("localaws-workflows"),
                time_scale=TIME_SCALE,
                watch_assembly=False,
            )
            local.start()
            result.local = local
            machine = local.report.outputs[next(iter(local.report.outputs))]["StateMachineArn"]
            result.mocked = MockedWorkflow("embedded", local.client("stepfunctions"), machine)
            result.documented, documented = _start_documented(local, run_id)
            result.documented_runs = {
                case: readers.submit(wait_for_execution, result.documented.sfn, arn, timeout=90)
                for case, arn in documented.items()
            }
            result.desks["embedded"] = OrderDesk(local.client, names)
        # The slowest scenario goes first; the rest overlap with it.
        for scenario in sorted(scenarios.SCENARIOS, key=lambda s: s.test_case != "RefundKeepsFailing"):
            arn = result.mocked.start(scenario.test_case, scenario.event, run_id)
            result.mocked_runs[scenario.test_case] = readers.submit(
                wait_for_execution, result.mocked.sfn, arn, timeout=90
            )
        if e2e_requested() and _aws_credentials():
            result.desks["aws"] = OrderDesk(_aws_client, names)
        else:
            result.integration_skip["aws"] = (
                "against the deployed stack only with ORDERFLOW_E2E=1 and AWS credentials"
                if not e2e_requested()
                else "ORDERFLOW_E2E=1 but no AWS credentials were found"
            )
        if "embedded" not in result.desks:
            result.integration_skip["embedded"] = result.embedded_skip
        for target, desk in result.desks.items():
            result.posted[target] = desk.post_all()
        try:
            yield result
        finally:
            readers.shutdown(wait=True, cancel_futures=True)
            if result.local is not None:
                result.local.stop()


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
