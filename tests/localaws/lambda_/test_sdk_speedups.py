"""The workers' botocore shortcuts give byte for byte what botocore gives without them."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore import context, useragent
from botocore.config import Config
from botocore.useragent import register_feature_id

from localaws.lambda_ import sdk_speedups

ORIGINAL_TO_STRING = useragent.UserAgentString.to_string


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            found = getattr(found, name)
        return found
    raise AssertionError(f"{dotted} does not resolve")


def test_every_botocore_internal_used_is_where_it_was() -> None:
    for dotted in sdk_speedups.BOTOCORE_INTERNALS:
        assert callable(_resolve(dotted)), dotted


def _creator(client: Any) -> useragent.UserAgentString:
    creator: useragent.UserAgentString = client._user_agent_creator
    return creator


def _clients() -> list[Any]:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    extra = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    extra._session.user_agent_extra = "session-extra/1"
    # botocore-stubs' Config lags botocore's: it has no user_agent_appid
    with_app_id = Config(user_agent_extra="extra/2", user_agent_appid="my app#1")  # type: ignore[call-arg]
    return [
        session.client("sqs", endpoint_url="http://127.0.0.1:1"),
        session.client("dynamodb", config=Config(retries={"mode": "adaptive"})),
        session.client("events", config=with_app_id),
        session.client("sns", config=Config(user_agent="legacy/3")),
        extra.client("stepfunctions"),
    ]


def test_the_user_agent_is_botocores_for_every_client_config_and_feature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given clients with different User-Agent settings, and the cached to_string
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    clients = _clients()
    cached = sdk_speedups.cached_to_string(ORIGINAL_TO_STRING, context.get_context)
    seen: set[str] = set()

    # When each builds its string with no request context, then with features registered as calls go
    for client in clients:
        creator = _creator(client)
        assert cached(creator) == ORIGINAL_TO_STRING(creator)
        with context.start_as_current_context():
            for feature in ("RETRY_MODE_STANDARD", "WAITER", "PAGINATOR", "RETRY_MODE_STANDARD"):
                register_feature_id(feature)
                # Then each is botocore's own, asked twice (built, then kept)
                expected = ORIGINAL_TO_STRING(creator)
                assert cached(creator) == expected
                assert cached(creator) == expected
                seen.add(expected)

    # And the strings differ where botocore's do (three feature sets; a legacy ``user_agent`` names none):
    # nothing kept was served for other inputs
    assert len(seen) == (len(clients) - 1) * 3 + 1
    assert all("exec-env/AWS_Lambda_python3.12" in ua for ua in seen if not ua.startswith("legacy/3"))


def test_a_changed_input_builds_a_new_string() -> None:
    # Given a client whose string was kept
    client = _clients()[0]
    creator = _creator(client)
    cached = sdk_speedups.cached_to_string(ORIGINAL_TO_STRING, context.get_context)
    before = cached(creator)

    # When its config and session fields change
    creator._client_config = client.meta.config.merge(Config(user_agent_extra="changed/2"))  # type: ignore[attr-defined]
    creator._session_user_agent_extra = "later/1"  # type: ignore[attr-defined]

    # Then the string follows, as botocore's does
    after = cached(creator)
    assert after != before
    assert after == ORIGINAL_TO_STRING(creator)
    assert after.endswith("later/1 changed/2")


_REQUEST_HEADERS = """
import json, sys
from localaws.lambda_ import sdk_channel, sdk_speedups
if sys.argv[1] == "on":
    sdk_channel.when_botocore_loads(lambda _: sdk_speedups.install())
import boto3, botocore.useragent
seen = []
def answer(request, **_):
    seen.append(request.headers["User-Agent"].decode())
    return botocore.awsrequest.AWSResponse(request.url, 200, {}, None)
client = boto3.client("sqs", endpoint_url="http://127.0.0.1:1")
client.meta.events.register("before-send", answer)
for _ in range(3):
    try:
        client.list_queues()
    except Exception:
        pass
patched = hasattr(botocore.useragent.UserAgentString.to_string, "__wrapped__")
print(json.dumps({"patched": patched, "user_agents": seen}))
"""


def _worker_like(mode: str) -> dict[str, Any]:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": os.getcwd(),
        # botocore joins the feature ids in a set's order, which follows the process's string hashes
        "PYTHONHASHSEED": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", _REQUEST_HEADERS, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_a_worker_sends_the_user_agent_botocore_sends() -> None:
    # Given two fresh processes as a worker starts them, one with the shortcut put in before botocore loads
    plain, shortcut = _worker_like("off"), _worker_like("on")

    # Then only the second has it, and each request carries the very same User-Agent
    assert (plain["patched"], shortcut["patched"]) == (False, True)
    assert len(shortcut["user_agents"]) == 3
    assert shortcut["user_agents"] == plain["user_agents"]
    assert "exec-env/AWS_Lambda_python3.12" in shortcut["user_agents"][0]
