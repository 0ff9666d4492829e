"""Where another engine is known to differ from AWS on a scenario, and why; checked on every run.

A scenario listed here for the engine under test still runs in full. If it fails, the test is reported as
an expected failure with the reason; if it passes, the test fails, so that a fixed engine gets its entry
removed (and the README's parity table corrected). Our own engine has no entries: where it differed from
AWS it was fixed. Each reason says what AWS documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

LOCALSTACK = "localstack"

_SINGLE_MATCH = (
    "LocalStack 2026.3.0 unwraps the one match of an indefinite path: ResultSelector "
    "'$[*].reservation' over a one-item Map gives the object, where AWS (Jayway JsonPath, 'Using JSONPath "
    "paths') gives a one-element array"
)
_THROW_NAME = (
    "LocalStack 2026.3.0 replaces a mocked Throw's Error for optimised DynamoDB tasks with "
    "'DynamoDB.AmazonDynamoDBException' and drops the Cause, so the Catch on "
    "DynamoDB.ConditionalCheckFailedException never matches (localstack discussion #45); AWS's "
    "MockConfigFile docs fail the task with the mocked Error and Cause"
)
_STATES_THROW = (
    "LocalStack 2026.3.0 refuses a mocked Throw named 'States.HeartbeatTimeout' (States.Runtime: custom "
    "error names must not begin with 'States.'); AWS's MockConfigFile docs state no such limit on Throw, and "
    "a real heartbeat timeout fails the task with States.HeartbeatTimeout, which the Catch handles"
)

KNOWN: dict[str, dict[str, str]] = {
    LOCALSTACK: {
        "HappyPath": _SINGLE_MATCH,
        "PriorityOrder": _SINGLE_MATCH,
        "DuplicateEvent": _THROW_NAME,
        "PaymentHeartbeatTimeout": _STATES_THROW,
    },
}


def known(engine: str, test_case: str) -> str | None:
    return KNOWN.get(engine, {}).get(test_case)


@contextmanager
def deviation_expected(engine: str, test_case: str) -> Iterator[None]:
    """Run the assertions; a listed deviation turns their failure into xfail, their success into a failure."""
    reason = known(engine, test_case)
    if reason is None:
        yield
        return
    try:
        yield
    except (AssertionError, LookupError, TypeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        pytest.xfail(f"{engine}: {reason} [{type(exc).__name__}: {first_line[:200]}]")
    pytest.fail(f"{engine} now agrees with AWS on {test_case}: remove it from tests/workflows/deviations.py")
