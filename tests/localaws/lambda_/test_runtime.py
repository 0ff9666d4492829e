"""The docker-less Lambda runtime: real handlers in warm, isolated worker processes."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from localaws.heap import YOUNG_THRESHOLD
from localaws.lambda_.runtime import (
    RUNTIME_EXIT_ERROR_TYPE,
    TIMEOUT_ERROR_TYPE,
    FunctionSpec,
    InvocationStarted,
    LambdaRuntime,
    UnknownFunctionError,
)
from localaws.local_aws import LocalAws


def _function(local: LocalAws, logical_prefix: str) -> str:
    return next(
        r.physical_id
        for r in local.report.of_type("AWS::Lambda::Function")
        if r.logical_id.startswith(logical_prefix)
    )


def _wait_for_execution(local: LocalAws, execution_arn: str) -> dict[str, Any]:
    sfn = local.client("stepfunctions")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running")


def test_handler_gets_its_event_context_and_only_its_own_environment(local_aws: LocalAws) -> None:
    # Given the demo function, deployed with GREETING=hello (ONLY_IN_OTHER belongs to another function)
    name = _function(local_aws, "DemoFunction")

    # When it is invoked
    result = local_aws.invoker.invoke(name, {"orderId": "o-1"})

    # Then the handler ran with a Lambda-shaped context, its own variables and the local endpoint
    assert result.function_error is None
    assert result.payload["event"] == {"orderId": "o-1"}
    assert result.payload["functionName"] == name
    assert result.payload["memory"] == 256
    assert 0 < result.payload["remainingMs"] <= 3000
    assert result.payload["greeting"] == "hello"
    assert result.payload["otherFunctionVariable"] is None
    assert result.payload["endpoint"] == local_aws.endpoint_url
    # And on the venv's Python, the one the suite runs on (3.13, as the functions deploy, where it exists)
    assert result.payload["python"] == sys.executable


def test_workers_stay_warm_between_invocations(local_aws: LocalAws) -> None:
    # Given a function invoked once
    name = _function(local_aws, "DemoFunction")
    first = local_aws.invoker.invoke(name, {})

    # When it is invoked again
    second = local_aws.invoker.invoke(name, {})

    # Then the same process answers (no cold start; how fast a warm call is, is for `make bench`)
    assert second.payload["pid"] == first.payload["pid"]


def test_a_warm_worker_settles_its_heap(local_aws: LocalAws) -> None:
    # Given the demo function, in a stack that settles heaps (the default)
    name = _function(local_aws, "DemoFunction")

    # When it is invoked
    result = local_aws.invoker.invoke(name, {})

    # Then its worker froze what it had loaded, and collects young objects less often than Python's 700
    assert result.payload["gcFrozen"] > 10_000
    assert result.payload["gcThresholds"][0] == YOUNG_THRESHOLD


def test_an_exception_is_reported_like_aws(local_aws: LocalAws) -> None:
    # Given the demo function, which raises PaymentDeclinedError on "decline"
    name = _function(local_aws, "DemoFunction")

    # When it fails
    result = local_aws.invoker.invoke(name, {"action": "decline"})

    # Then the error looks like AWS Lambda's: Unhandled, errorType = the exception class
    assert result.function_error == "Unhandled"
    assert result.error_type == "PaymentDeclinedError"
    assert result.payload["errorType"] == "PaymentDeclinedError"
    assert result.payload["errorMessage"] == "card declined"
    assert any("handler.py" in frame for frame in result.payload["stackTrace"])


def test_a_handler_over_its_timeout_is_killed_and_replaced(local_aws: LocalAws) -> None:
    # Given the demo function with a 3 s timeout
    name = _function(local_aws, "DemoFunction")
    before = local_aws.invoker.invoke(name, {})

    # When an invocation sleeps past the timeout
    started = time.monotonic()
    result = local_aws.invoker.invoke(name, {"action": "sleep", "seconds": 30})
    elapsed = time.monotonic() - started

    # Then it ends at the timeout with Sandbox.Timedout (not before it; the 30 s sleep never returned an
    # answer), and a fresh worker serves the next call
    assert result.error_type == TIMEOUT_ERROR_TYPE
    assert "Task timed out after 3.00 seconds" in result.payload["errorMessage"]
    assert elapsed >= 2.9
    assert local_aws.invoker.invoke(name, {}).payload["pid"] != before.payload["pid"]


def test_a_worker_that_dies_is_reported_and_replaced(local_aws: LocalAws) -> None:
    # Given the demo function, served by a warm worker
    name = _function(local_aws, "DemoFunction")
    before = local_aws.invoker.invoke(name, {})

    # When the handler kills its own process
    result = local_aws.invoker.invoke(name, {"action": "exit"})

    # Then the invocation fails with Runtime.ExitError, and a new process serves the next call
    assert result.error_type == RUNTIME_EXIT_ERROR_TYPE
    after = local_aws.invoker.invoke(name, {"n": 1})
    assert after.function_error is None
    assert after.payload["pid"] != before.payload["pid"]


def test_two_workers_run_invocations_in_parallel(local_aws: LocalAws) -> None:
    # Given the demo function with two workers per function, both warm: a first pair of calls at once
    # starts the second (its cold start, seconds under load, would outlast a 1 s sleep on the first)
    name = _function(local_aws, "DemoFunction")
    results: list[Any] = []

    def call() -> None:
        results.append(local_aws.invoker.invoke(name, {"action": "sleep", "seconds": 1}))

    def two_at_once() -> None:
        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    two_at_once()
    results.clear()

    # When two 1-second invocations are made at once
    two_at_once()

    # Then each started before the other ended: they overlapped, in two processes
    assert max(r.payload["sleptFrom"] for r in results) < min(r.payload["sleptUntil"] for r in results)
    assert len({r.payload["pid"] for r in results}) == 2


def test_lambda_invoke_api_runs_the_real_handler(local_aws: LocalAws) -> None:
    # Given the Lambda API over HTTP
    client = local_aws.client("lambda")
    name = _function(local_aws, "DemoFunction")

    # When a client invokes the function, successfully and then with an error
    ok = client.invoke(FunctionName=name, Payload=json.dumps({"x": 1}))
    failed = client.invoke(FunctionName=name, Payload=json.dumps({"action": "decline"}))

    # Then the handler's result comes back (not moto's echo), and errors carry FunctionError
    assert json.load(ok["Payload"])["greeting"] == "hello"
    assert "FunctionError" not in ok
    assert failed["FunctionError"] == "Unhandled"
    assert json.load(failed["Payload"])["errorType"] == "PaymentDeclinedError"


def test_step_functions_catch_matches_the_lambda_error_type(local_aws: LocalAws) -> None:
    # Given the fixture state machine: Charge (lambda invoke) with Catch ["PaymentDeclinedError"] → Declined
    machine = local_aws.report.of_type("AWS::StepFunctions::StateMachine")[0].physical_id
    sfn = local_aws.client("stepfunctions")

    # When one execution succeeds and one is declined by the handler
    ok = sfn.start_execution(stateMachineArn=machine, name="charge-ok", input=json.dumps({"action": "echo"}))
    declined = sfn.start_execution(
        stateMachineArn=machine, name="charge-declined", input=json.dumps({"action": "decline"})
    )

    # Then the first carries the handler's output and the second was caught by the error name
    succeeded = _wait_for_execution(local_aws, ok["executionArn"])
    caught = _wait_for_execution(local_aws, declined["executionArn"])
    assert succeeded["status"] == "SUCCEEDED"
    assert json.loads(succeeded["output"])["greeting"] == "hello"
    assert caught["status"] == "SUCCEEDED"
    assert json.loads(caught["output"]) == {"declined": True}


def test_a_result_json_cannot_carry_is_a_marshal_error_and_the_worker_stays(local_aws: LocalAws) -> None:
    # Given the demo function
    name = _function(local_aws, "DemoFunction")

    # When it returns a set, then is invoked again
    failed = local_aws.invoker.invoke(name, {"action": "unmarshallable"})
    ok = local_aws.invoker.invoke(name, {"action": "echo"})

    # Then the first is Lambda's Runtime.MarshalError, and the same warm worker answers the next
    assert failed.function_error == "Unhandled"
    assert failed.error_type == "Runtime.MarshalError"
    assert "not JSON serializable" in failed.payload["errorMessage"]
    assert ok.function_error is None
    assert ok.payload["event"] == {"action": "echo"}


def test_handler_output_goes_to_the_function_log_file(local_aws: LocalAws) -> None:
    # Given a function
    name = _function(local_aws, "DemoFunction")

    # When it is invoked
    result = local_aws.invoker.invoke(name, {"action": "echo"})

    # Then its print() and the START/END lines are in .localaws/logs/<function>.log
    log = (local_aws.run_dir / "logs" / f"{name}.log").read_text()
    assert "demo handler action=echo" in log
    lines = log.splitlines()
    end = lines.index(f"END RequestId: {result.request_id}")
    start = lines.index(f"START RequestId: {result.request_id} Version: $LATEST")
    assert "demo handler action=echo" in lines[start + 1 : end]
    assert lines[end + 1].startswith(f"REPORT RequestId: {result.request_id}\tDuration: ")
    assert lines[end + 1].endswith(" ms")


def test_an_unknown_function_is_an_error(local_aws: LocalAws) -> None:
    # Given / When / Then: invoking a function that was never deployed raises
    with pytest.raises(UnknownFunctionError):
        local_aws.invoker.invoke("no-such-function", {})


def test_a_worker_killed_while_idle_fails_its_next_invocation_cleanly(local_aws: LocalAws) -> None:
    # Given a warm worker, killed (as a host would lose it) while it waits for work
    name = _function(local_aws, "DemoFunction")
    seen: list[InvocationStarted] = []
    local_aws.invoker.invocation_listeners.append(seen.append)
    try:
        before = local_aws.invoker.invoke(name, {})
        os.kill(before.payload["pid"], signal.SIGKILL)
        time.sleep(0.2)
        # When it is handed the next invocation
        result = local_aws.invoker.invoke(name, {})
        after = local_aws.invoker.invoke(name, {})
    finally:
        local_aws.invoker.invocation_listeners.remove(seen.append)
    # Then that invocation fails as Runtime.ExitError (not an exception out of the runtime), and a new
    # worker serves the one after; listeners heard of each invocation with the worker that ran it
    assert result.error_type == RUNTIME_EXIT_ERROR_TYPE
    assert after.function_error is None
    assert after.payload["pid"] != before.payload["pid"]
    assert [s.pid for s in seen] == [before.payload["pid"], before.payload["pid"], after.payload["pid"]]
    assert not seen[-1].still_running()


def _inline_function(tmp_path: Path, name: str) -> FunctionSpec:
    code_dir = tmp_path / name
    code_dir.mkdir()
    (code_dir / "index.py").write_text("def handler(event, context):\n    return {'answered': True}\n")
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    return FunctionSpec(name=name, arn=arn, handler="index.handler", code_dir=code_dir, runtime="python3.13")


def test_a_function_left_out_of_the_prewarm_starts_at_its_first_invocation(tmp_path: Path) -> None:
    # Given a runtime with two functions, one of them left out of the prewarm (a custom resource's provider)
    runtime = LambdaRuntime(
        endpoint_url="http://127.0.0.1:9", region="us-east-1", account_id="123456789012", log_dir=tmp_path
    )
    warm, provider = _inline_function(tmp_path, "warm"), _inline_function(tmp_path, "provider")
    try:
        runtime.register(warm)
        runtime.register(provider)

        # When the runtime prewarms
        runtime.prewarm(1, leave_out={provider.arn})

        # Then only the other one has a worker (a worker's start opens its log), and the one left out still
        # answers its first invocation, from a worker started for it
        assert runtime.log_path(warm).exists()
        assert not runtime.log_path(provider).exists()
        result = runtime.invoke(provider.arn, {})
        assert (result.function_error, result.payload) == (None, {"answered": True})
        assert runtime.log_path(provider).exists()
    finally:
        runtime.stop()
