"""speedups.execution_index: callbacks and lookups answered from the index give moto's answers.

Each scenario runs twice, in a fresh moto world each time: once on moto's own walks (the index uninstalled)
and once on the index, and every answer (result, or error type and message) and every execution's end must
be the same. Read-only lookups are also compared call for call in one world, against ``registry.original``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localaws.endpoint.defaults import DEFAULT_ACCOUNT_ID, MOTO_CONFIG
from localaws.patches import registry, speedups
from localaws.patches.speedups import execution_index
from localaws.patches.speedups.execution_index import EXECUTION_INDEX
from tests.localaws.support import moto_client as client

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/states"
DEADLINE_S = 30.0
PREFIX = f"arn:aws:states:{REGION}:{DEFAULT_ACCOUNT_ID}"


pytestmark = pytest.mark.usefixtures("stock_moto")  # moto without our speed-ups around each test


def backend() -> Any:
    return stepfunctions_parser_backends[DEFAULT_ACCOUNT_ID][REGION]


def ask(name: str, then: str | None, **options: Any) -> dict[str, Any]:
    """A task that sends its token to a queue and waits (the tests read the token off the pool)."""
    queue_url = client("sqs").create_queue(QueueName="asks")["QueueUrl"]
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        **options,
    }
    if then is None:
        state["End"] = True
    else:
        state["Next"] = then
    return {name: state}


def machine(name: str, states: dict[str, Any], start: str) -> str:
    definition = json.dumps({"StartAt": start, "States": states})
    return str(
        client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
    )


def two_asks(name: str, *, first_timeout: int | None = None) -> str:
    """Ask1 (caught on any error) then Ask2 (heartbeat 60 s): the first token can outlive its task."""
    first: dict[str, Any] = {
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Ask2"}]
    }
    if first_timeout is not None:
        first["TimeoutSeconds"] = first_timeout
    return machine(name, {**ask("Ask1", "Ask2", **first), **ask("Ask2", None, HeartbeatSeconds=60)}, "Ask1")


def execution(arn: str) -> Any:
    return backend().describe_execution(arn)


def start(machine_arn: str, name: str) -> str:
    return str(backend().start_execution(machine_arn, name, "{}").execution_arn)


def tokens(arn: str, count: int) -> list[str]:
    """The first ``count`` tokens the execution's tasks were given, in order, once the last task waits.

    In ``two_asks`` the second task has a heartbeat: moto sets its heartbeat clock up only after it sent
    the token, and an answer that comes before is not seen until the clock runs out (a moto race, alike on
    both paths), so the tests answer it once the clock is there.
    """
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        worker = execution(arn).exec_worker
        pool = worker.env.callback_pool_manager if worker.env is not None else None
        if pool is not None and len(pool._pool) >= count:
            found = list(pool._pool)[:count]
            if count != 2 or pool.get(found[1])._heartbeat_endpoint is not None:
                return found
        time.sleep(0.005)
    raise AssertionError(f"{arn} did not reach task {count}")


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def wait_ended(arn: str) -> str:
    wait_until(lambda: execution(arn).status != "RUNNING", f"{arn} still RUNNING")
    return str(execution(arn).status)


def wake(token: str) -> str:
    """Answer the task a stopped execution was waiting in. moto's StopExecution does not wake a task waiting
    on its token (on both paths alike): now and then the execution stays RUNNING until the task is answered.
    Whether this answer still finds the task depends on that race, so it is not part of the record."""
    with contextlib.suppress(Exception):
        backend().send_task_success(token, "{}")
    return "woken"


def finish(arn: str, output: str = '"done"') -> str:
    """Answer both tasks of a ``two_asks`` execution; its end status."""
    backend().send_task_success(tokens(arn, 1)[0], "{}")
    backend().send_task_success(tokens(arn, 2)[1], output)
    return wait_ended(arn)


def wait_history(arn: str, event_type: str, count: int = 1) -> None:
    def seen() -> bool:
        events = execution(arn).to_history_output()["events"]
        return sum(1 for event in events if event["type"] == event_type) >= count

    wait_until(seen, f"{arn}: no {event_type}")


def answer(call: Callable[[], Any]) -> tuple[str, str]:
    """What a call answered: ("ok", its result) or (the error's type, its message)."""
    try:
        result = call()
    except Exception as error:
        return type(error).__name__, str(getattr(error, "message", error))
    if result is None or isinstance(result, dict):
        return "ok", json.dumps(result, sort_keys=True, default=str)
    return "ok", type(result).__name__


def history_types(arn: str) -> list[str]:
    return [event["type"] for event in execution(arn).to_history_output()["events"]]


def both_ways(scenario: Callable[[], list[Any]]) -> list[Any]:
    """The scenario's record on moto's walks and on the index, each in a fresh world; they must agree."""
    records = []
    for with_index in (False, True):
        speedups.install()
        if not with_index:
            EXECUTION_INDEX.uninstall()
        try:
            with mock_aws(config=MOTO_CONFIG):
                records.append(scenario())
        finally:
            speedups.uninstall()
    on_moto, on_index = records
    assert on_index == on_moto
    return on_moto


def test_callbacks_to_a_running_a_timed_out_and_a_gone_task_answer_as_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        arn = start(two_asks("asks", first_timeout=1), "run")
        (first,) = tokens(arn, 1)
        wait_history(arn, "TaskTimedOut")
        _, second = tokens(arn, 2)
        record: list[Any] = [
            # The first task timed out (caught), the execution runs on: its token's task is over.
            answer(lambda: sfn.send_task_heartbeat(first)),
            answer(lambda: sfn.send_task_success(first, '{"late": true}')),
            answer(lambda: sfn.send_task_failure(first, error="Late", cause="too late")),
            # The running task: a heartbeat (it has HeartbeatSeconds), then its answer.
            answer(lambda: sfn.send_task_heartbeat(second)),
            answer(lambda: sfn.send_task_success(second, '{"answer": 42}')),
        ]
        record.append(wait_ended(arn))
        record += [
            # The execution has ended: success and heartbeat look at running executions only, failure at all.
            answer(lambda: sfn.send_task_success(second, "{}")),
            answer(lambda: sfn.send_task_heartbeat(second)),
            answer(lambda: sfn.send_task_failure(second, error="E", cause="C")),
            execution(arn).output,
            history_types(arn),
        ]
        return record

    record = both_ways(scenario)
    assert record[4] == ("ok", "null")
    assert record[5] == "SUCCEEDED"
    assert record[6][0] == "InvalidToken"


def test_a_task_answered_twice_and_a_failed_task_answer_as_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        arn = start(two_asks("asks"), "run")
        (first,) = tokens(arn, 1)
        record: list[Any] = [answer(lambda: sfn.send_task_failure(first, error="Declined", cause="card"))]
        _, second = tokens(arn, 2)
        # The first task is gone (failed, caught), its execution still runs.
        record += [
            answer(lambda: sfn.send_task_success(first, "{}")),
            answer(lambda: sfn.send_task_heartbeat(first)),
            answer(lambda: sfn.send_task_failure(first, error="Again", cause="twice")),
            answer(lambda: sfn.send_task_failure(second, error="Declined", cause="no")),
            wait_ended(arn),
            execution(arn).error,
            execution(arn).cause,
            history_types(arn),
        ]
        return record

    record = both_ways(scenario)
    assert record[0] == ("ok", "{}")
    assert record[5] == "FAILED"
    assert (record[6], record[7]) == ("Declined", "no")


def test_unknown_and_malformed_tokens_are_invalid_as_in_moto() -> None:
    bad = ["", "not-a-token", "1c7b1b4e-0000-4000-8000-000000000000", "x" * 2048, "arn:aws:states:::token"]

    def scenario() -> list[Any]:
        sfn = backend()
        arn = start(two_asks("asks"), "run")
        tokens(arn, 1)
        record: list[Any] = []
        for token in bad:
            record += [
                answer(partial(sfn.send_task_success, token, "{}")),
                answer(partial(sfn.send_task_failure, token, error="E")),
                answer(partial(sfn.send_task_heartbeat, token)),
            ]
        record.append(finish(arn))
        return record

    record = both_ways(scenario)
    assert {kind for kind, _ in record[:-1]} == {"InvalidToken"}


def test_executions_of_several_state_machines_answer_as_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        machines = [two_asks(f"machine-{n}") for n in range(3)]
        arns = [start(machine_arn, f"run-{k}") for machine_arn in machines for k in range(2)]
        firsts = [tokens(arn, 1)[0] for arn in arns]
        record: list[Any] = []
        # Answered in an order unrelated to the walk's.
        for index in (5, 0, 3, 2, 4, 1):
            record.append(answer(partial(sfn.send_task_failure, firsts[index], error=f"E{index}")))
        seconds = {index: tokens(arns[index], 2)[1] for index in range(6)}
        for index in (1, 4, 0, 5, 3, 2):
            record.append(answer(partial(sfn.send_task_success, seconds[index], json.dumps(index))))
        record += [(wait_ended(arn), execution(arn).output) for arn in arns]
        record += [
            answer(lambda: sfn.send_task_heartbeat(firsts[3])),
            answer(lambda: sfn.send_task_success(firsts[3], "{}")),
            answer(lambda: sfn.send_task_failure(seconds[2], error="E")),
        ]
        return record

    record = both_ways(scenario)
    assert record[12:18] == [("SUCCEEDED", index) for index in range(6)]


def test_a_token_held_by_two_executions_is_answered_by_moto_walk() -> None:
    """A repeated token (uuid4 never repeats, a hand-made one can) goes where moto's walk meets it first."""

    def scenario() -> list[Any]:
        sfn = backend()
        arns = [start(two_asks(f"machine-{n}"), "run") for n in range(2)]
        for arn in arns:
            tokens(arn, 1)
        for arn in reversed(arns):
            execution(arn).exec_worker.env.callback_pool_manager.add("shared-token")
        record: list[Any] = [answer(lambda: sfn.send_task_success("shared-token", '"to the first"'))]
        for arn in arns:
            outcome = execution(arn).exec_worker.env.callback_pool_manager.get("shared-token").get_outcome()
            record.append(None if outcome is None else outcome.output)
        return record

    record = both_ways(scenario)
    assert record[1:3] == ['"to the first"', None]


def test_executions_from_before_the_install_are_found() -> None:
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        EXECUTION_INDEX.uninstall()
        sfn = backend()
        machine_arn = two_asks("asks")
        ended = start(machine_arn, "ended")
        sfn.send_task_success(tokens(ended, 1)[0], "{}")
        sfn.send_task_success(tokens(ended, 2)[1], '"ended"')
        wait_ended(ended)
        running = start(machine_arn, "running")
        (first,) = tokens(running, 1)

        EXECUTION_INDEX.install()
        assert answer(lambda: sfn.send_task_heartbeat(first))[0] == "InvalidToken"  # no HeartbeatSeconds
        assert answer(lambda: sfn.send_task_failure(tokens(ended, 1)[0], error="E")) == ("ok", "{}")
        assert answer(lambda: sfn.send_task_success(first, "{}")) == ("ok", "null")
        second = tokens(running, 2)[1]
        assert answer(lambda: sfn.send_task_success(second, '"running"')) == ("ok", "null")
        assert wait_ended(running) == "SUCCEEDED"
        assert execution(running).output == "running"
        assert sfn.describe_execution(ended).output == "ended"
        assert answer(lambda: sfn.send_task_success(second, "{}"))[0] == "InvalidToken"


def lookups(arns: list[str], machine_arns: list[str]) -> list[tuple[str, Any, tuple[Any, ...]]]:
    """(patched path, owner, arguments) of every lookup, for ARNs that exist, do not, or are malformed."""
    missing = [
        f"{PREFIX}:execution:asks-0:no-such-run",
        f"{PREFIX}:execution:no-such-machine:run",
        f"{PREFIX}:execution:asks-0",
        "not-an-arn",
        f"arn:aws:states:eu-west-1:{DEFAULT_ACCOUNT_ID}:execution:asks-0:run-0",
    ]
    calls: list[tuple[str, Any, tuple[Any, ...]]] = []
    for arn in [*arns, *missing]:
        for name in ("describe_execution", "get_execution_history", "describe_state_machine_for_execution"):
            calls.append((f"moto.stepfunctions.models.StepFunctionBackend.{name}", backend(), (arn,)))
    for machine_arn in machine_arns:
        state_machine = backend().describe_state_machine(machine_arn)
        for name in ("", "run-0", "run-2", "new"):
            for execution_input in ("{}", '{"other": 1}'):
                path = "moto.stepfunctions.models.StateMachine._handle_name_input_idempotency"
                calls.append((path, state_machine, (name, execution_input)))
    return calls


def same_in_one_world(calls: list[tuple[str, Any, tuple[Any, ...]]]) -> None:
    for path, owner, args in calls:
        by_moto = answer(partial(registry.original(path), owner, *args))
        by_index = answer(partial(registry.resolve(path), owner, *args))
        assert by_index == by_moto, (path, args)
        assert registry.resolve(path) is not registry.original(path)


def test_lookups_by_arn_and_name_answer_as_moto_call_for_call() -> None:
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        machine_arns = [two_asks(f"asks-{n}") for n in range(2)]
        arns = [start(machine_arn, f"run-{n}") for machine_arn in machine_arns for n in range(3)]
        for arn in arns[:2]:
            finish(arn)
        same_in_one_world(lookups(arns, machine_arns))


def test_stop_execution_answers_as_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        machine_arn = two_asks("asks-0")
        arn = start(machine_arn, "run-0")
        (first,) = tokens(arn, 1)
        record: list[Any] = [
            answer(lambda: sfn.stop_execution(f"{PREFIX}:execution:asks-0:nope")),
            answer(lambda: sfn.stop_execution(f"{PREFIX}:execution:nope:run-0")),
            answer(lambda: sfn.stop_execution("not-an-arn")),
            answer(lambda: sfn.stop_execution(arn)),
            wake(first),
            # ABORTED or FAILED: which one is a race in moto's stop, in either world.
            wait_ended(arn) in ("ABORTED", "FAILED"),
            answer(lambda: sfn.stop_execution(arn)),
            answer(lambda: start(machine_arn, "run-0")),
            answer(lambda: sfn.describe_state_machine_for_execution(arn).arn),
        ]
        return record

    record = both_ways(scenario)
    assert record[0][0] == "ExecutionDoesNotExist"
    assert record[5] is True
    assert record[7][0] == "ExecutionAlreadyExists"


def test_start_execution_idempotency_answers_as_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        machine_arn = two_asks("asks")
        record: list[Any] = []
        arn = start(machine_arn, "same")
        record.append(answer(lambda: sfn.start_execution(machine_arn, "same", "{}").execution_arn))
        record.append(answer(lambda: sfn.start_execution(machine_arn, "same", '{"other": 1}')))
        record.append(finish(arn))
        record.append(answer(lambda: sfn.start_execution(machine_arn, "same", "{}")))
        record.append(len(sfn.describe_state_machine(machine_arn).executions))
        return record

    record = both_ways(scenario)
    assert record[1][0] == "ExecutionAlreadyExists"
    assert record[4] == 1


def test_a_state_machine_deleted_takes_its_executions_out_of_reach_as_in_moto() -> None:
    def scenario() -> list[Any]:
        sfn = backend()
        machine_arn = two_asks("asks")
        arn = start(machine_arn, "run")
        (first,) = tokens(arn, 1)
        sfn.describe_execution(arn)
        sfn.delete_state_machine(machine_arn)
        record: list[Any] = [
            answer(lambda: sfn.send_task_success(first, "{}")),
            answer(lambda: sfn.describe_execution(arn)),
        ]
        two_asks("asks")
        record += [
            answer(lambda: sfn.describe_execution(arn)),
            answer(lambda: sfn.send_task_failure(first, error="E")),
        ]
        return record

    record = both_ways(scenario)
    assert [kind for kind, _ in record] == [
        "InvalidToken",
        "ExecutionDoesNotExist",
        "ExecutionDoesNotExist",
        "InvalidToken",
    ]


def test_callbacks_racing_starts_on_many_threads_all_land() -> None:
    """Request threads answer tasks while others start executions: every task gets its own answer."""
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        sfn = backend()
        machine_arn = machine("one-ask", ask("Ask", None), "Ask")
        errors: list[BaseException] = []
        started: list[str] = []

        def caller(n: int) -> None:
            try:
                for k in range(15):
                    arn = start(machine_arn, f"run-{n}-{k}")
                    started.append(arn)
                    (token,) = tokens(arn, 1)
                    sfn.send_task_success(token, json.dumps(f"{n}-{k}"))
                    sfn.describe_execution(arn)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE_S * 2)
        assert errors == []
        assert len(started) == 120
        for arn in started:
            assert wait_ended(arn) == "SUCCEEDED"
            assert execution(arn).output == arn.rsplit(":", 1)[1].removeprefix("run-")
        assert execution_index.counts()["tokens"] >= 120


def test_uninstall_restores_moto_code_and_drops_the_index() -> None:
    targets = [patch.target for patch in EXECUTION_INDEX.patches]
    owners = {target: registry.resolve(target.rpartition(".")[0]) for target in targets}
    before = {target: vars(owners[target]).get(target.rpartition(".")[2]) for target in targets}
    assert all(value is not None for value in before.values())
    with mock_aws(config=MOTO_CONFIG):
        speedups.install()
        arn = start(two_asks("asks"), "run")
        tokens(arn, 1)
        backend().describe_execution(arn)
        assert execution_index.counts()["tokens"] >= 1
        changed = {
            target
            for target in targets
            if vars(owners[target]).get(target.rpartition(".")[2]) is not before[target]
        }
        assert changed == set(targets)
        speedups.uninstall()
        assert execution_index.counts() == {"tokens": 0, "state_machines": 0}
        assert {target: vars(owners[target]).get(target.rpartition(".")[2]) for target in targets} == before


def test_through_the_client_the_errors_are_moto_errors() -> None:
    def scenario() -> list[Any]:
        sfn = client("stepfunctions")
        arn = start(two_asks("asks"), "run")
        (first,) = tokens(arn, 1)
        record = []
        for call in (
            lambda: sfn.send_task_success(taskToken="nope", output="{}"),
            lambda: sfn.send_task_heartbeat(taskToken="nope"),
            lambda: sfn.send_task_failure(taskToken="nope", error="E"),
            lambda: sfn.describe_execution(executionArn=f"{PREFIX}:execution:asks:nope"),
            lambda: sfn.get_execution_history(executionArn=f"{PREFIX}:execution:asks:nope"),
            lambda: sfn.send_task_success(taskToken=first, output='"done"'),
        ):
            try:
                response = call()
                record.append(("ok", response["ResponseMetadata"]["HTTPStatusCode"]))
            except sfn.exceptions.ClientError as error:
                record.append((error.response["Error"]["Code"], error.response["Error"].get("Message")))
        return record

    record = both_ways(scenario)
    assert [kind for kind, _ in record] == ["InvalidToken"] * 3 + ["ExecutionDoesNotExist"] * 2 + ["ok"]


def plain_backend_record() -> list[Any]:
    sfn = client("stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    machine_arn = sfn.create_state_machine(name="plain", definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    arns = [
        sfn.start_execution(stateMachineArn=machine_arn, name=f"run-{n}")["executionArn"] for n in range(3)
    ]
    missing = f"{PREFIX}:execution:plain:nope"
    record: list[Any] = []
    for call in (
        lambda: sfn.start_execution(stateMachineArn=machine_arn, name="run-1")["executionArn"] == arns[1],
        lambda: sfn.start_execution(stateMachineArn=machine_arn, name="run-1", input='{"a": 1}'),
        lambda: sfn.describe_execution(executionArn=arns[2])["status"],
        lambda: len(sfn.get_execution_history(executionArn=arns[1])["events"]),
        lambda: sfn.describe_state_machine_for_execution(executionArn=arns[0])["name"],
        lambda: sfn.stop_execution(executionArn=arns[0])["ResponseMetadata"]["HTTPStatusCode"],
        lambda: sfn.describe_execution(executionArn=arns[0])["status"],
        lambda: sfn.describe_execution(executionArn=missing),
        lambda: sfn.stop_execution(executionArn=missing),
        lambda: sfn.describe_state_machine_for_execution(executionArn=missing),
    ):
        try:
            record.append(("ok", call()))
        except sfn.exceptions.ClientError as error:
            record.append((error.response["Error"]["Code"], error.response["Error"].get("Message")))
    return record


def test_the_backend_without_an_interpreter_answers_as_moto() -> None:
    """moto's default backend (``execute_state_machine`` off) keeps plain records: the same lookups."""
    records = []
    for with_index in (False, True):
        speedups.install()
        if not with_index:
            EXECUTION_INDEX.uninstall()
        try:
            with mock_aws():
                records.append(plain_backend_record())
        finally:
            speedups.uninstall()
    on_moto, on_index = records
    assert on_index == on_moto
    assert on_moto[0] == ("ok", True)
    assert on_moto[6] == ("ok", "ABORTED")
    assert on_moto[7][0] == "ExecutionDoesNotExist"
