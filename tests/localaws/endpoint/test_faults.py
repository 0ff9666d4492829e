"""The endpoint's fault switch: it hits only calls from Lambda workers, in AWS's own error shapes."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws.endpoint.faults import FaultShareError, FaultShares
from localaws.endpoint.server import LocalEndpoint

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _client(endpoint: LocalEndpoint, service: str, monkeypatch: pytest.MonkeyPatch, *, lambda_: bool) -> Any:
    # botocore names the execution environment in the User-Agent, as it does inside Lambda
    if lambda_:
        monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    else:
        monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


def _code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_throttles_hit_lambda_callers_in_each_services_own_words(
    endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the switch throttling every call
    endpoint.faults.configure(FaultShares(throttle=1.0), seed=1)
    try:
        # Then a Lambda worker's DynamoDB call is refused as DynamoDB refuses it, SNS's (query) as SNS does
        dynamodb = _client(endpoint, "dynamodb", monkeypatch, lambda_=True)
        assert _code(dynamodb.list_tables) == ("ProvisionedThroughputExceededException", 400)
        sns = _client(endpoint, "sns", monkeypatch, lambda_=True)
        assert _code(sns.list_topics) == ("ThrottlingException", 400)
        # And the harness's own reads (no Lambda execution environment) are never touched
        assert "TableNames" in _client(endpoint, "dynamodb", monkeypatch, lambda_=False).list_tables()
        assert endpoint.faults.injected == {"throttle": 2}
    finally:
        endpoint.faults.clear()
    # And once cleared, Lambda callers go through again
    assert "TableNames" in _client(endpoint, "dynamodb", monkeypatch, lambda_=True).list_tables()


def test_server_errors_are_500s(endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint.faults.configure(FaultShares(server_error=1.0), seed=1)
    try:
        sqs = _client(endpoint, "sqs", monkeypatch, lambda_=True)
        assert _code(sqs.list_queues) == ("InternalFailure", 500)
    finally:
        endpoint.faults.clear()


def test_a_lost_callback_is_answered_and_dropped(
    endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn = _client(endpoint, "stepfunctions", monkeypatch, lambda_=True)
    # Given a token no task waits for: Step Functions refuses it
    assert _code(lambda: sfn.send_task_success(taskToken="no-such-task", output="{}"))[1] == 400
    # When the switch loses every SendTaskSuccess
    endpoint.faults.configure(FaultShares(lost_callback=1.0), seed=1)
    try:
        # Then the handler hears success although nothing reached Step Functions, and only that call is lost
        assert (
            sfn.send_task_success(taskToken="no-such-task", output="{}")["ResponseMetadata"]["HTTPStatusCode"]
            == 200
        )
        assert _code(lambda: sfn.send_task_failure(taskToken="no-such-task", error="E"))[1] == 400
        assert endpoint.faults.injected == {"lost_callback": 1}
    finally:
        endpoint.faults.clear()


def test_a_share_of_calls_is_hit_repeatably_by_seed(
    endpoint: LocalEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = _client(endpoint, "dynamodb", monkeypatch, lambda_=True)
    outcomes = []
    for _ in range(2):
        endpoint.faults.configure(FaultShares(throttle=0.5), seed=42)
        run = []
        for _ in range(40):
            try:
                dynamodb.list_tables()
                run.append(True)
            except ClientError:
                run.append(False)
        outcomes.append(run)
    endpoint.faults.clear()
    assert outcomes[0] == outcomes[1]
    assert 5 < outcomes[0].count(False) < 35


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(FaultShareError, match=r"throttle: 1\.5"):
        FaultShares(throttle=1.5)
