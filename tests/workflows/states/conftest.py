"""One state of the order workflow at a time, through the TestState API: locally, or on AWS.

The definition is the synthesized one (``cdk.out``), its ARNs resolved. By default TestState is the embedded
endpoint's (started here, nothing deployed: every Task is mocked); with ``ORDERFLOW_E2E=1`` and AWS
credentials it is AWS's own (``tests/workflows/backends.py`` decides, as for the rest of the suite).
"""

from __future__ import annotations

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


@pytest.fixture(scope="package")
def teststate() -> Iterator[StateTester]:
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
    # The speed-ups every LocalAws endpoint runs with (`orderflow local up` serves TestState with them):
    # each JSONPath of a state parsed once, not at each of the 147 calls (about 1 ms of CPU a call).
    # Taken out at the end only if this fixture put them in (a LocalAws of the session may have).
    ours = not speedups.installed()
    speedups.install()
    endpoint = LocalEndpoint(port=0)
    channel: SdkChannel | None = None
    try:
        endpoint.start()
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=endpoint.url,
            region_name=DEFAULT_REGION,
            # botocore sends TestState to the host "sync-<endpoint>": not for 127.0.0.1.
            config=Config(inject_host_prefix=False),
            aws_access_key_id=TEST_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=TEST_CREDENTIALS["aws_secret_access_key"],
        )
        # Client and endpoint share this process: the calls go on the endpoint's Unix socket, as the Lambda
        # workers' do (localaws.lambda_.sdk_channel): the same signed request, the same WSGI application
        # and answer, without urllib3's and the HTTP server's work on each of the 147 calls.
        channel = SdkChannel(str(endpoint.socket_path), endpoint.url)
        sfn.meta.events.register("before-send", channel.before_send)
        yield StateTester("embedded", sfn, definition, role_arn)
    finally:
        if channel is not None:
            channel.close()
        endpoint.stop()
        if ours:
            speedups.uninstall()
