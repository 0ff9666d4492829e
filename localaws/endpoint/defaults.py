"""Where the local endpoint listens, what it answers as, and how any client of ours reaches it.

Free of moto and werkzeug: the CLI and the watch, which only talk to an endpoint, read these too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

DEFAULT_HOST = "127.0.0.1"  # loopback only: the endpoint answers every AWS API without authentication
DEFAULT_PORT = 4566  # the port local AWS emulators conventionally use, so existing settings work unchanged
DEFAULT_ENDPOINT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account: what `sts get-caller-identity` answers locally
# moto accepts any key; fixed ones keep boto3 from looking for a profile or an instance role.
TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The access key moto's BaseResponse.get_access_key answers for a request that names none it can read.
MOTO_DEFAULT_ACCESS_KEY = "AKIAEXAMPLE"

# How the local runtime runs moto: state machines really execute, and Lambda never needs Docker.
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


def endpoint_url_from_environment() -> str:
    """``AWS_ENDPOINT_URL`` when set (as boto3 and the AWS CLI read it), else the default endpoint."""
    return os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT_URL


def region_from_environment() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def local_client(service: str, *, endpoint_url: str, region: str | None = None) -> Any:
    """A boto3 client for ``service`` on a local endpoint, with the test credentials."""

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region or region_from_environment(),
        **TEST_CREDENTIALS,
    )
