"""One state of the order workflow at a time, through the TestState API: locally, or on AWS.

The definition is the synthesized one (``cdk.out``), its ARNs resolved. By default TestState is the embedded
endpoint's (started here, nothing deployed: every Task is mocked); with ``ORDERFLOW_E2E=1`` and AWS
credentials it is AWS's own (``tests/workflows/backends.py`` decides, as for the rest of the suite).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, TEST_CREDENTIALS
from localaws.endpoint.server import LocalEndpoint
from localaws.lambda_.sdk_channel import SdkChannel
from localaws.patches import speedups
from tests.helpers.assembly import synthesized_app
from tests.workflows.backends import aws_client, choose_backends, order_workflow_from_assembly


@dataclass(frozen=True)
class StateTester:
    """Calls TestState on one state of the order workflow, by its name in ``workflows/states.py``."""

    where: str
    sfn: Any
    definition: str
    role_arn: str

    def __call__(
        self,
        state_name: str,
        document: dict[str, Any],
        *,
        result: Any = None,
        error: tuple[str, str] | None = None,
        retries_made: int | None = None,
        map_failures: int | None = None,
        caused_by: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "definition": self.definition,
            "stateName": state_name,
            "input": json.dumps(document),
            "roleArn": self.role_arn,
            "inspectionLevel": "DEBUG",
        }
        if context is not None:
            request["context"] = json.dumps(context)
        if result is not None:
            request["mock"] = {"result": json.dumps(result)}
        if error is not None:
            request["mock"] = {"errorOutput": {"error": error[0], "cause": error[1]}}
        configuration = {
            "retrierRetryCount": retries_made,
            "mapIterationFailureCount": map_failures,
            "errorCausedByState": caused_by,
        }
        configuration = {key: value for key, value in configuration.items() if value is not None}
        if configuration:
            request["stateConfiguration"] = configuration
        response = dict(self.sfn.test_state(**request))
        response.pop("ResponseMetadata", None)
        return response


HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against AWS these are e2e tests too, so ``make e2e`` (``-m e2e``) runs them."""
    if not any(HERE in item.path.parents for item in items) or not choose_backends().aws:
        return
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def _the_suite_deploys_its_stack(session: pytest.Session) -> bool:
    """Whether this session starts the workflow suite's LocalAws anyway (one of its tests asks for it)."""
    asking = (item for item in session.items if isinstance(item, pytest.Function))
    return choose_backends().embedded and any("started" in item.fixturenames for item in asking)


def _embedded_sfn(endpoint: LocalEndpoint) -> tuple[Any, SdkChannel | None]:
    """A Step Functions client of an embedded endpoint, its calls on the endpoint's Unix socket."""
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint.url,
        region_name=DEFAULT_REGION,
        # botocore sends TestState to the host "sync-<endpoint>": not for 127.0.0.1.
        config=Config(inject_host_prefix=False),
        aws_access_key_id=TEST_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=TEST_CREDENTIALS["aws_secret_access_key"],
    )
    if endpoint.socket_path is None:
        return sfn, None
    # Client and endpoint share this process: the calls go on the endpoint's Unix socket, as the Lambda
    # workers' do (localaws.lambda_.sdk_channel): the same signed request, the same WSGI application
    # and answer, without urllib3's and the HTTP server's work on each of the 147 calls.
    channel = SdkChannel(endpoint.socket_path, endpoint.url)
    sfn.meta.events.register("before-send", channel.before_send)
    return sfn, channel


@contextlib.contextmanager
def _endpoint_of_their_own() -> Iterator[LocalEndpoint]:
    """An embedded endpoint with nothing deployed, with the speed-ups every LocalAws endpoint runs with
    (`orderflow local up` serves TestState with them): each JSONPath of a state parsed once, not at each of
    the 147 calls (about 1 ms of CPU a call). Taken out at the end only if this put them in."""
    ours = not speedups.installed()
    speedups.install()
    endpoint = LocalEndpoint(port=0)
    try:
        endpoint.start()
        yield endpoint
    finally:
        endpoint.stop()
        if ours:
            speedups.uninstall()


@pytest.fixture(scope="package")
def teststate(request: pytest.FixtureRequest) -> Iterator[StateTester]:
    backends = choose_backends()
    cdk_out = synthesized_app()
    if backends.aws:
        sfn = aws_client("stepfunctions")
        account = aws_client("sts").get_caller_identity()["Account"]
        _, definition, role_arn = order_workflow_from_assembly(
            cdk_out, region=sfn.meta.region_name, account=account
        )
        yield StateTester("AWS", sfn, definition, role_arn)
        return
    _, definition, role_arn = order_workflow_from_assembly(
        cdk_out, region=DEFAULT_REGION, account=DEFAULT_ACCOUNT_ID
    )
    # The suite's LocalAws when the session deploys it anyway: deployed, with the suite's orders in flight,
    # before these tests run, so the orders that wait in real time (the transient payment's redeliveries)
    # wait while these run, not after the rest of the suite. It is the endpoint `orderflow local up` serves;
    # every Task here is mocked but the two that write to the orders table for real (their test makes the
    # table when it is missing), so the deployed resources change no answer. Alone (`pytest
    # tests/workflows/states`) they start an endpoint of their own rather than deploy the stack.
    suite_stack = (
        request.getfixturevalue("started").local if _the_suite_deploys_its_stack(request.session) else None
    )
    with contextlib.ExitStack() as cleanup:
        endpoint = suite_stack.endpoint if suite_stack else cleanup.enter_context(_endpoint_of_their_own())
        sfn, channel = _embedded_sfn(endpoint)
        if channel is not None:
            cleanup.callback(channel.close)
        yield StateTester("embedded", sfn, definition, role_arn)
