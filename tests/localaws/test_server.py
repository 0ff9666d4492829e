"""The endpoint: one set of moto backends, in-process and over HTTP on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from localaws.runtime import LocalAws
from localaws.server import LocalEndpoint, PortInUseError


def test_in_process_and_http_clients_share_the_same_backends(local_aws: LocalAws) -> None:
    # Given an in-process client (intercepted by mock_aws) and an HTTP client to the endpoint
    in_process = boto3.client("sqs", region_name=local_aws.region)
    over_http = local_aws.client("sqs")

    # When each creates a queue
    in_process.create_queue(QueueName="made-in-process")
    over_http.create_queue(QueueName="made-over-http")

    # Then each sees the other's
    assert any(u.endswith("/made-in-process") for u in over_http.list_queues()["QueueUrls"])
    assert any(u.endswith("/made-over-http") for u in in_process.list_queues()["QueueUrls"])


def test_endpoint_listens_on_loopback_only(local_aws: LocalAws) -> None:
    # Given / When / Then: the endpoint URL is a loopback address
    assert local_aws.endpoint_url.startswith("http://127.0.0.1:")
    with pytest.raises(ValueError, match="loopback"):
        LocalEndpoint(host="0.0.0.0")


def test_a_busy_port_is_a_clear_error(local_aws: LocalAws) -> None:
    # Given the running endpoint's port
    busy = LocalEndpoint(port=local_aws.endpoint.port)

    # When / Then: a second endpoint on it fails at once, saying what to do
    with pytest.raises(PortInUseError, match="--port"):
        busy.start()


def test_the_stock_aws_cli_works_against_the_endpoint(local_aws: LocalAws) -> None:
    # Given the AWS CLI installed in the venv
    aws = Path(sys.executable).parent / "aws"
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": local_aws.region,
    }

    # When it lists queues with --endpoint-url
    listed = subprocess.run(
        [str(aws), "sqs", "list-queues", "--endpoint-url", local_aws.endpoint_url, "--output", "json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )

    # Then it sees the deployed queues
    assert "fixture-named" in listed.stdout
