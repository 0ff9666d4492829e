"""Which backend the workflow suite runs on, and that the AWS one never ends up talking to moto.

The checks that need a process of their own (a clean environment, moto started, a whole pytest run) run in a
subprocess: in this one, the suite's own LocalAws may already hold moto's mock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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


class _Child:
    """A child process started at once; ``result`` waits for it to end (the children run side by side)."""

    def __init__(self, command: list[str], environment: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._done: subprocess.CompletedProcess[str] | None = None

    def result(self) -> subprocess.CompletedProcess[str]:
        if self._done is None:
            try:
                stdout, stderr = self._process.communicate(timeout=CHILD_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                stdout, stderr = self._process.communicate()
                stderr += f"\n(killed: still running after {CHILD_TIMEOUT_SECONDS:.0f} s)"
            self._done = subprocess.CompletedProcess(
                self._process.args, self._process.returncode, stdout, stderr
            )
        return self._done

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


def _python(code: str, environment: dict[str, str]) -> _Child:
    return _Child([sys.executable, "-c", code], environment)


CHILD_TIMEOUT_SECONDS = 240.0
_REAL_CHAIN = (
    "from tests.workflows.backends import choose_backends\n"
    "chosen = choose_backends()\n"
    "print(chosen.aws, chosen.embedded, chosen.aws_skip)\n"
)
_MOTO_ACTIVE = (
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
_AWS_ENDPOINTS = (
    "from tests.workflows.backends import aws_client\n"
    "print(aws_client('stepfunctions').meta.endpoint_url, aws_client('events').meta.endpoint_url)\n"
)


# Each child, by the test that reads it.
_CHILDREN: dict[str, tuple[str, ...]] = {
    "test_the_real_credential_chain_decides": ("chain without credentials", "fake credentials"),
    "test_the_aws_backend_refuses_to_work_while_moto_is_active": ("fake credentials",),
    "test_an_aws_client_ignores_the_local_endpoints": ("aws endpoints",),
    "test_with_fake_credentials_the_aws_scenarios_fail_on_aws_s_answer": ("aws scenario",),
}


def _start(name: str, home: Path) -> _Child:
    opted_in = {E2E_VARIABLE: "1"}
    if name == "chain without credentials":
        return _python(_REAL_CHAIN, _clean_environment(home, **opted_in))
    if name == "fake credentials":
        # One process for both checks of this environment (a Python start-up each is most of their CPU):
        # the chain is decided first, moto imported and started only after; each prints one line.
        return _python(_REAL_CHAIN + _MOTO_ACTIVE, _clean_environment(home, **opted_in, **FAKE_CREDENTIALS))
    if name == "aws endpoints":
        local_endpoints = {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
            "AWS_ENDPOINT_URL_SFN": "http://127.0.0.1:8083",
        }
        return _python(_AWS_ENDPOINTS, _clean_environment(home, **local_endpoints, **FAKE_CREDENTIALS))
    # Hypothesis's plugin is left out: no test of this run uses it, and loading it is a second of CPU.
    pytest_run = [
        *("-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"),
        *("-q", "tests/workflows/test_integration.py"),
    ]
    return _Child(
        [sys.executable, *pytest_run, "-k", "aws and happy-path"],
        _clean_environment(home, **opted_in, **FAKE_CREDENTIALS),
    )


class _EarlyChildren:
    """The children of the selected tests, started when the session's collection ends (the suite's
    conftest calls ``start_early``): they import on the second core while the first runs the TestState
    tests and deploys the stack, and are ready when their tests come."""

    def __init__(self) -> None:
        self.started: dict[str, _Child] = {}
        self._home: tempfile.TemporaryDirectory[str] | None = None

    def start(self, selected: set[str]) -> None:
        self._home = tempfile.TemporaryDirectory(prefix="no-aws-home-")
        home = Path(self._home.name)
        self.started = {name: _start(name, home) for test in selected for name in _CHILDREN.get(test, ())}

    def stop(self) -> None:
        for child in self.started.values():
            child.stop()
        self.started = {}
        if self._home is not None:
            self._home.cleanup()
            self._home = None


_EARLY = _EarlyChildren()


def _selected(session: pytest.Session) -> set[str]:
    here = Path(__file__)
    return {item.name for item in session.items if item.path == here}


def start_early(session: pytest.Session) -> None:
    """Start the children of this module's selected tests now (called once collection has ended)."""
    if _selected(session) and not _EARLY.started:
        _EARLY.start(_selected(session))


def stop_early() -> None:
    """Stop the children that are still running (at the session's end)."""
    _EARLY.stop()


@pytest.fixture(scope="module")
def children(request: pytest.FixtureRequest) -> Iterator[dict[str, _Child]]:
    """The child processes of the selected tests, started together: each spends seconds importing."""
    if not _EARLY.started:
        _EARLY.start(_selected(request.session))
    try:
        yield _EARLY.started
    finally:
        _EARLY.stop()


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


def test_the_real_credential_chain_decides(children: dict[str, _Child]) -> None:
    # Given a process with no AWS credentials anywhere, then the same with fake ones in its environment
    # When each chooses with ORDERFLOW_E2E=1 (_REAL_CHAIN)
    without = children["chain without credentials"].result()
    with_fake = children["fake credentials"].result()

    # Then the first skips AWS for want of credentials, the second targets AWS
    assert without.returncode == 0, without.stderr
    assert without.stdout.startswith("False True ORDERFLOW_E2E=1 but no AWS credentials"), without.stdout
    assert with_fake.returncode == 0, with_fake.stderr
    assert with_fake.stdout.splitlines()[0].startswith("True False"), with_fake.stdout


def test_the_aws_backend_refuses_to_work_while_moto_is_active(children: dict[str, _Child]) -> None:
    # Given a process where moto's mock_aws is started: before, and after, an AWS client was made
    # When it chooses the backends, makes a client, or calls the early one (_MOTO_ACTIVE)
    done = children["fake credentials"].result()

    # Then each refuses (moto would have answered with its fake credentials)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == ["[True, True, True]"], done.stdout


def test_an_aws_client_ignores_the_local_endpoints(children: dict[str, _Child]) -> None:
    # Given endpoints configured for the local runs
    # When AWS clients are made (_AWS_ENDPOINTS)
    done = children["aws endpoints"].result()

    # Then they talk to AWS's own endpoints
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "https://states.us-east-1.amazonaws.com",
        "https://events.us-east-1.amazonaws.com",
    ]


@pytest.mark.slow
def test_with_fake_credentials_the_aws_scenarios_fail_on_aws_s_answer(children: dict[str, _Child]) -> None:
    # Given ORDERFLOW_E2E=1, fake credentials, and no stack deployed for them
    # When one AWS integration scenario runs (a pytest of its own)
    done = children["aws scenario"].result()

    # Then it fails with what AWS's endpoint answered (here: it cannot be reached), and moto never answered
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed" in out, out
    assert "the deployed stack did not answer" in out, out
    aws_answers = ("amazonaws.com", "UnrecognizedClient", "InvalidClientTokenId")
    assert any(answer in out for answer in aws_answers), out
