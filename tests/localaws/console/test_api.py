"""The console's JSON API against a LocalAws running the real orderflow assembly."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from infra.naming import Names
from localaws.console.app import CONSOLE_PATH, TOKEN_HEADER, mount_console
from localaws.local_aws import LocalAws
from localaws.stepfunctions.history import read_history, states_entered
from tests.localaws.support import wait_for

pytestmark = pytest.mark.slow


def page_token(base: str) -> str:
    """The console token, read from the page as its script reads it."""
    with urllib.request.urlopen(f"{base}{CONSOLE_PATH}/", timeout=10) as response:
        page = response.read().decode()
    found = re.search(r'<meta name="orderflow-console-token" content="([^"]+)">', page)
    assert found, "the page carries its token"
    return found.group(1)


def call(
    base: str, path: str, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """GET, or POST ``body`` as the console's page does (same origin, with its token) unless ``headers``."""
    if headers is None:
        headers = {} if body is None else {"Origin": base, TOKEN_HEADER: page_token(base)}
    request = urllib.request.Request(
        f"{base}{CONSOLE_PATH}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def definition_states(scope: dict[str, Any]) -> Iterator[str]:
    for name, state in scope["States"].items():
        yield name
        for child in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if child:
                yield from definition_states(child)


def place(console_url: str, sample: str) -> str:
    status, placed = call(console_url, "api/orders", {"sample": sample})
    assert status == 201, placed
    return str(placed["orderId"])


def execution_of(console_url: str, order_id: str) -> dict[str, Any]:
    def listed() -> dict[str, Any] | None:
        _, data = call(console_url, f"api/executions?orderId={order_id}")
        return next(iter(data["executions"]), None)

    return dict(wait_for(listed, timeout=20))


def finished(console_url: str, order_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        row = execution_of(console_url, order_id)
        return row if row["status"] != "RUNNING" else None

    return dict(wait_for(done, timeout=timeout, every=0.5))


def test_the_page_is_self_contained(console_url: str) -> None:
    # Given the console
    # When the page and its assets are fetched
    with urllib.request.urlopen(f"{console_url}{CONSOLE_PATH}/", timeout=10) as response:
        page = response.read().decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    # Then every asset is served by the console itself: nothing comes from the internet
    assert assets, "the page loads its script and style"
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), asset
        with urllib.request.urlopen(f"{console_url}{CONSOLE_PATH}/{asset}", timeout=10) as response:
            assert response.status == 200
            assert b"http://" not in response.read().replace(b"http://www.w3.org/2000/svg", b"")


def test_the_graph_has_every_state_and_catch_of_the_deployed_definition(
    console_url: str, orderflow_local: LocalAws
) -> None:
    # Given the definition the endpoint serves
    sfn = orderflow_local.client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])

    # When the console's graph is read
    status, data = call(console_url, "api/graph")

    # Then each state is a node, the Map's item states inside their Map, each Catch an edge
    assert status == 200
    nodes = {node["id"]: node for node in data["graph"]["nodes"]}
    assert set(definition_states(definition)) <= set(nodes)
    assert nodes["Reserve Item"]["parent"] == "Reserve Stock"
    assert nodes["Release Item"]["parent"] == "Release Stock"
    assert nodes["Reserve Stock"]["compound"] is True
    edges = {(e["source"], e["target"], e["kind"]) for e in data["graph"]["edges"]}
    for name, state in definition["States"].items():
        for catcher in state.get("Catch", []):
            assert (name, catcher["Next"], "catch") in edges


def test_a_placed_order_appears_with_its_order_id_and_a_path_matching_the_history(
    console_url: str, orderflow_local: LocalAws
) -> None:
    # Given the console
    # When a sample order is placed through it
    order_id = place(console_url, "normal")
    row = finished(console_url, order_id)
    status, detail = call(console_url, f"api/execution?arn={row['arn']}")

    # Then it has a fresh id, and the path's states are the states the history entered
    assert re.fullmatch(r"ord-[0-9a-f]{12}", order_id)
    assert status == 200
    assert detail["execution"]["orderId"] == order_id
    entered = states_entered(read_history(orderflow_local.client("stepfunctions"), row["arn"]))
    assert [run["name"] for run in detail["path"]["runs"]] == entered
    assert set(detail["path"]["states"]) == set(entered)
    assert len(detail["history"]) >= len(entered)
    assert row["start"] and (row["status"] == "RUNNING" or row["stop"])


def test_an_execution_carries_its_status_change_events_and_its_map_iterations(console_url: str) -> None:
    # Given an out-of-stock order of two SKUs, placed through the console, ended
    order_id = place(console_url, "out-of-stock")
    row = finished(console_url, order_id)
    assert row["status"] == "FAILED"

    # When its execution is read, once the default bus's events have reached the console's queue
    def with_its_end() -> dict[str, Any] | None:
        _, detail = call(console_url, f"api/execution?arn={row['arn']}")
        return detail if len(detail["statusEvents"]) >= 2 else None

    detail = wait_for(with_its_end, timeout=30)

    # Then it has the RUNNING and FAILED events, at the start and the stop of the execution
    running, failed = detail["statusEvents"]
    assert (running["status"], failed["status"]) == ("RUNNING", "FAILED")
    assert failed["error"] == "OrderCancelled"
    assert running["at"][:19] == detail["execution"]["start"][:19]
    assert failed["at"][:19] == detail["execution"]["stop"][:19]
    # And one Reserve Stock iteration per SKU, the second failed. The first succeeded if its stock was
    # answered before the second's refusal; if not, the Map stopped it (MapIterationAborted), shown failed.
    reserving = [i for i in detail["path"]["iterations"] if i["map_state"] == "Reserve Stock"]
    assert [i["index"] for i in reserving] == [0, 1]
    assert reserving[0]["status"] in ("succeeded", "failed")
    assert reserving[1]["status"] == "failed"
    items = [json.loads(detail["path"]["runs"][i["runs"][0]]["input"])["sku"] for i in reserving]
    assert len(set(items)) == 2


def test_executions_filter_by_status_and_order_id(console_url: str) -> None:
    # Given a malformed order, which the workflow rejects (a FAILED execution)
    order_id = place(console_url, "malformed")
    finished(console_url, order_id)

    # When the executions are listed with filters
    _, failed = call(console_url, "api/executions?status=FAILED")
    _, succeeded = call(console_url, "api/executions?status=SUCCEEDED")
    _, by_order = call(console_url, f"api/executions?orderId={order_id[-6:]}")

    # Then each filter keeps only what it names
    assert order_id in {e["orderId"] for e in failed["executions"]}
    assert {e["status"] for e in failed["executions"]} == {"FAILED"}
    assert order_id not in {e["orderId"] for e in succeeded["executions"]}
    assert [e["orderId"] for e in by_order["executions"]] == [order_id]


def test_resources_show_queues_with_their_dlq_alarms_and_recent_notifications(
    console_url: str, orderflow_names: Names
) -> None:
    # Given an order placed (the workflow announces it on the order-status topic)
    order_id = place(console_url, "normal")

    # When the resources are read until the notification has arrived
    def with_notification() -> dict[str, Any] | None:
        _, data = call(console_url, "api/resources")
        topic = next(t for t in data["topics"] if t["name"] == orderflow_names("order-status"))
        mentioned = any(
            isinstance(n["message"], dict) and n["message"].get("orderId") == order_id
            for n in topic["recent"]
        )
        return data if mentioned else None

    data = wait_for(with_notification, timeout=30, every=0.5)

    # Then queues carry their DLQ and depths, alarms their state, and the console's own queue is hidden
    queues = {q["name"]: q for q in data["queues"]}
    payment = queues[orderflow_names("payment")]
    assert payment["dlq"] == orderflow_names.dlq("payment")
    assert isinstance(payment["depth"], int) and isinstance(payment["dlq_depth"], int)
    assert queues[orderflow_names.dlq("payment")]["sources"] == [orderflow_names("payment")]
    assert orderflow_names("console-notifications") not in queues
    alarm_states = {a["name"]: a["state"] for a in data["alarms"]}
    assert alarm_states and set(alarm_states.values()) <= {"OK", "ALARM", "INSUFFICIENT_DATA"}
    assert isinstance(data["analytics"], list)


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_redrive_moves_one_dlq_message_back_to_its_source_queue(
    console_url: str, orderflow_local: LocalAws, orderflow_names: Names, fifo: bool
) -> None:
    # Given a queue of our own with a DLQ holding two messages (no consumer, so the move can be seen)
    sqs = orderflow_local.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    dlq_name = orderflow_names(f"redrive-test-{int(fifo)}-dlq{suffix}")
    source_name = orderflow_names(f"redrive-test-{int(fifo)}{suffix}")
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes=fifo_attributes)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    source_url = sqs.create_queue(
        QueueName=source_name, Attributes={**fifo_attributes, "RedrivePolicy": policy}
    )["QueueUrl"]
    fifo_send = {"MessageGroupId": "SKU-1", "MessageDeduplicationId": "d1"} if fifo else {}
    attributes = {"status": {"DataType": "String", "StringValue": "shipped"}}
    first = sqs.send_message(
        QueueUrl=dlq_url, MessageBody='{"n": 1}', MessageAttributes=attributes, **fifo_send
    )
    if fifo:
        fifo_send["MessageDeduplicationId"] = "d2"
    sqs.send_message(QueueUrl=dlq_url, MessageBody='{"n": 2}', **fifo_send)

    # When the console lists the DLQ's messages and redrives the first one
    _, peeked = call(console_url, f"api/queue-messages?queue={dlq_name}")
    status, moved = call(console_url, "api/redrive", {"queue": dlq_name, "messageId": first["MessageId"]})

    # Then that message, with its attributes, is on the source queue, and only the other is left in the DLQ
    assert first["MessageId"] in {m["messageId"] for m in peeked["messages"]}
    assert status == 200, moved
    assert moved == {"moved": first["MessageId"], "from": dlq_name, "to": source_name}
    received = sqs.receive_message(
        QueueUrl=source_url, MessageAttributeNames=["All"], AttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert [m["Body"] for m in received] == ['{"n": 1}']
    assert received[0]["MessageAttributes"]["status"]["StringValue"] == "shipped"
    if fifo:
        assert received[0]["Attributes"]["MessageGroupId"] == "SKU-1"
    left = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in left] == ['{"n": 2}']


def test_errors_are_json_with_a_status_that_says_what_went_wrong(console_url: str) -> None:
    # Given the console
    # When it is asked for an unknown sample, an unknown path and a redrive of a queue nothing feeds
    unknown_sample = call(console_url, "api/orders", {"sample": "no-such-sample"})
    unknown_path = call(console_url, "api/nothing-here")
    not_a_dlq = call(console_url, "api/redrive", {"queue": "orderflow-compensation-dlq"})

    # Then each answer is a JSON error with a fitting status
    assert unknown_sample[0] == 400 and "no-such-sample" in unknown_sample[1]["error"]
    assert unknown_path[0] == 404 and "error" in unknown_path[1]
    assert not_a_dlq[0] == 400 and "dead-letter queue of 0 queues" in not_a_dlq[1]["error"]


def test_actions_are_taken_only_from_the_console_page_with_its_token(
    console_url: str, orderflow_local: LocalAws, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the console's token, and the loopback alias of the endpoint's own origin
    token = page_token(console_url)
    alias = console_url.replace("127.0.0.1", "localhost")
    order = {"sample": "no-such-sample"}  # an action that passes the checks answers 400, and changes nothing

    # When actions are asked for with too little
    without_token = call(console_url, "api/orders", order, headers={"Origin": console_url})
    wrong_token = call(console_url, "api/orders", order, headers={"Origin": console_url, TOKEN_HEADER: "x"})
    no_origin = call(console_url, "api/redrive", {"queue": "q"}, headers={TOKEN_HEADER: token})
    other_origin = call(console_url, "api/orders", order, headers={"Origin": alias, TOKEN_HEADER: token})
    # And as the page asks: Origin, or Sec-Fetch-Site alone, with the token
    with_origin = call(console_url, "api/orders", order, headers={"Origin": console_url, TOKEN_HEADER: token})
    fetch_site = call(
        console_url, "api/orders", order, headers={"Sec-Fetch-Site": "same-origin", TOKEN_HEADER: token}
    )

    # Then only the page's requests get through, and each refusal says why, in the answer and the log
    assert without_token[0] == wrong_token[0] == 403
    assert TOKEN_HEADER in without_token[1]["error"] and TOKEN_HEADER in wrong_token[1]["error"]
    assert no_origin[0] == 403 and "same-origin" in no_origin[1]["error"]
    assert other_origin[0] == 403 and alias in other_origin[1]["error"]
    assert with_origin[0] == fetch_site[0] == 400 and "no-such-sample" in with_origin[1]["error"]
    assert orderflow_local.console_token == token
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("403 POST /_console/api/")]
    assert len(refused) == 4


def test_mount_console_sends_console_paths_to_the_console_and_the_rest_to_moto() -> None:
    # Given two WSGI apps that say who they are
    def app_named(name: str) -> Any:
        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            start_response("200 OK", [("content-type", "text/plain")])
            return [name.encode()]

        return app

    dispatcher = mount_console(app_named("moto"), app_named("console"))

    # When paths are dispatched
    def ignore_start(*_: Any) -> Any:
        return None

    def answer(path: str) -> bytes:
        return b"".join(dispatcher({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, ignore_start))

    # Then /_console and below go to the console, everything else (AWS API calls) to moto
    assert answer("/_console") == b"console"
    assert answer("/_console/api/graph") == b"console"
    assert answer("/") == b"moto"
    assert answer("/123456789012/orderflow-payment") == b"moto"
    assert answer("/_consolex") == b"moto"
