"""Which backend the workflow suite runs on, and that the AWS one never ends up talking to moto.

The checks that need a process of their own (a clean environment, moto started, a whole pytest run) run in a
subprocess: in this one, the suite's own LocalAws may already hold moto's mock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.assembly import REPO
from tests.workflows.backends import E2E_VARIABLE, choose_backends

# Variables that would give the child process credentials or another endpoint.
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SFN",
    "SFN_ENDPOINT",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    E2E_VARIABLE,
)
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any AWS credentials: no variables, an empty home, no role."""
    environment = {k: v for k, v in os.environ.items() if k not in _AWS_VARIABLES}
    environment |= {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return environment | extra


def _python(code: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=environment, capture_output=True, text=True, check=False
    )


def test_by_default_the_embedded_aws_runs_and_the_deployed_stack_says_how_to_reach_it() -> None:
    # Given no opt-in, even with credentials at hand
    # When the backends are chosen
    chosen = choose_backends({}, credentials=lambda: True)

    # Then the embedded AWS is the target, and the AWS scenarios name the opt-in
    assert (chosen.embedded, chosen.aws, chosen.sfn_endpoint) == (True, False, None)
    assert f"{E2E_VARIABLE}=1 and AWS credentials" in chosen.aws_skip


def test_the_opt_in_without_credentials_skips_aws_saying_why_and_keeps_the_embedded_run() -> None:
    # Given ORDERFLOW_E2E=1 and no credentials
    # When the backends are chosen
    chosen = choose_backends({E2E_VARIABLE: "1"}, credentials=lambda: False)

    # Then the AWS scenarios skip with the reason; everything else still runs on the embedded AWS
    assert (chosen.aws, chosen.embedded) == (False, True)
    assert "no AWS credentials were found" in chosen.aws_skip


def test_the_opt_in_with_credentials_targets_aws_and_never_starts_the_embedded_aws() -> None:
    # Given ORDERFLOW_E2E=1 and credentials
    # When the backends are chosen
    chosen = choose_backends({E2E_VARIABLE: "1"}, credentials=lambda: True)

    # Then AWS is the target, and LocalAws (moto in this process) stays off, saying why
    assert (chosen.aws, chosen.embedded) == (True, False)
    assert "moto" in chosen.embedded_skip


def test_the_opt_in_beside_step_functions_local_runs_the_scenarios_there() -> None:
    # Given ORDERFLOW_E2E=1, credentials and a Step Functions Local endpoint
    # When the backends are chosen
    chosen = choose_backends(
        {E2E_VARIABLE: "1", "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:8083"}, credentials=lambda: True
    )

    # Then the scenarios go to Step Functions Local, the integration ones to AWS; nothing embedded starts
    assert (chosen.sfn_endpoint, chosen.aws, chosen.embedded) == ("http://127.0.0.1:8083", True, False)


def test_the_real_credential_chain_decides(tmp_path: Path) -> None:
    # Given a process with no AWS credentials anywhere, then the same with fake ones in its environment
    code = (
        "from tests.workflows.backends import choose_backends\n"
        "chosen = choose_backends()\n"
        "print(chosen.aws, chosen.embedded, chosen.aws_skip)\n"
    )

    # When each chooses with ORDERFLOW_E2E=1
    without = _python(code, _clean_environment(tmp_path, **{E2E_VARIABLE: "1"}))
    with_fake = _python(code, _clean_environment(tmp_path, **{E2E_VARIABLE: "1"}, **FAKE_CREDENTIALS))

    # Then the first skips AWS for want of credentials, the second targets AWS
    assert without.returncode == 0, without.stderr
    assert without.stdout.startswith("False True ORDERFLOW_E2E=1 but no AWS credentials"), without.stdout
    assert with_fake.returncode == 0, with_fake.stderr
    assert with_fake.stdout.startswith("True False"), with_fake.stdout


def test_the_aws_backend_refuses_to_work_while_moto_is_active(tmp_path: Path) -> None:
    # Given a process where moto's mock_aws is started: before, and after, an AWS client was made
    code = (
        "from moto import mock_aws\n"
        "from tests.workflows.backends import MotoInTheWayError, aws_client, choose_backends\n"
        "early = aws_client('stepfunctions')\n"
        "refused = []\n"
        "with mock_aws():\n"
        "    for attempt in (choose_backends, lambda: aws_client('events'), early.list_state_machines):\n"
        "        try:\n"
        "            attempt()\n"
        "        except MotoInTheWayError:\n"
        "            refused.append(True)\n"
        "print(refused)\n"
    )

    # When it chooses the backends, makes a client, or calls the early one
    done = _python(code, _clean_environment(tmp_path, **{E2E_VARIABLE: "1"}, **FAKE_CREDENTIALS))

    # Then each refuses (moto would have answered with its fake credentials)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True, True, True]"


def test_an_aws_client_ignores_the_local_endpoints(tmp_path: Path) -> None:
    # Given endpoints configured for the local runs
    code = (
        "from tests.workflows.backends import aws_client\n"
        "print(aws_client('stepfunctions').meta.endpoint_url, aws_client('events').meta.endpoint_url)\n"
    )
    environment = _clean_environment(
        tmp_path,
        AWS_ENDPOINT_URL="http://127.0.0.1:4566",
        AWS_ENDPOINT_URL_SFN="http://127.0.0.1:8083",
        **FAKE_CREDENTIALS,
    )

    # When AWS clients are made
    done = _python(code, environment)

    # Then they talk to AWS's own endpoints
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "https://states.us-east-1.amazonaws.com",
        "https://events.us-east-1.amazonaws.com",
    ]


@pytest.mark.slow
def test_with_fake_credentials_the_aws_scenarios_fail_on_aws_s_answer(tmp_path: Path) -> None:
    # Given ORDERFLOW_E2E=1, fake credentials, and no stack deployed for them
    environment = _clean_environment(tmp_path, **{E2E_VARIABLE: "1"}, **FAKE_CREDENTIALS)

    # When one AWS integration scenario runs
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "tests/workflows/test_integration.py",
            "-k",
            "aws and happy-path",
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it fails with what AWS's endpoint answered (here: it cannot be reached), and moto never answered
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed" in out, out
    assert "the deployed stack did not answer" in out, out
    aws_answers = ("amazonaws.com", "UnrecognizedClient", "InvalidClientTokenId")
    assert any(answer in out for answer in aws_answers), out
