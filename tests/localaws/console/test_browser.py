"""The console in headless Chromium: place an order from the page, open its execution, see its path."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api

from localaws.local_aws import LocalAws
from localaws.stepfunctions.history import TERMINAL_STATUSES, execution_path, read_history, states_entered
from localaws.tools import orders
from localaws.tools.imports import wait_for_report
from tests.localaws.support import REPO, wait_for

pytestmark = pytest.mark.slow

# Debian's chromium by default; ORDERFLOW_CHROMIUM names another (e.g. Google Chrome on GitHub runners).
CHROMIUM = Path(os.environ.get("ORDERFLOW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / ".localaws" / "screenshots"


@pytest.fixture(scope="module")
def page(console_url: str) -> Iterator[Any]:
    # `make test` installs Debian's chromium (.ci/ensure-chromium); without it this test fails, never skips.
    assert CHROMIUM.exists() and shutil.which(str(CHROMIUM)), f"no {CHROMIUM}: run .ci/ensure-chromium"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1680, "height": 1050})
            opened = context.new_page()
            errors: list[str] = []
            opened.on("pageerror", lambda exc: errors.append(str(exc)))
            opened.goto(f"{console_url}/_console/")
            yield opened
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def _screenshot(page: Any, name: str) -> None:
    """The page as seen, then the graph's panel (the whole graph fits in it)."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.locator("#graph-box").screenshot(path=str(SCREENSHOTS / f"{name}-graph.png"))


# The colours console.css gives a node's box (fill) per status, and a taken edge's line (stroke) per kind.
NODE_FILL = {
    "succeeded": "rgb(216, 240, 218)",  # --ok-bg
    "failed": "rgb(251, 217, 217)",  # --bad-bg
    "caught": "rgb(255, 226, 191)",  # --caught-bg
}
TAKEN_STROKE = {"next": "rgb(46, 125, 50)", "catch": "rgb(230, 81, 0)"}  # --ok, --caught
# Generous: an order takes a second or two; a loaded machine may take much longer, never this long.
ORDER_DEADLINE_SECONDS = 120.0

Edge = tuple[str, str, str]  # source, target, kind


def _entered_states(local: LocalAws, execution_arn: str) -> set[str]:
    return set(states_entered(read_history(local.client("stepfunctions"), execution_arn)))


def _coloured_states(page: Any) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            "#graph .node[data-status]", "nodes => nodes.map(n => [n.dataset.state, n.dataset.status])"
        )
    )


def _rendered_fills(page: Any) -> dict[str, str]:
    """Each state's box as the browser paints it (computed style), whatever attribute drove it."""
    return dict(
        page.eval_on_selector_all(
            "#graph .node",
            "nodes => nodes.filter(n => n.querySelector(':scope > rect'))"
            ".map(n => [n.dataset.state, getComputedStyle(n.querySelector(':scope > rect')).fill])",
        )
    )


def _edges(page: Any, selector: str) -> list[tuple[Edge, str]]:
    """(source, target, kind) of the edges matching ``selector``, with the stroke the browser paints."""
    found = page.eval_on_selector_all(
        selector,
        "edges => edges.map(e => [e.dataset.source, e.dataset.target, e.dataset.kind,"
        " getComputedStyle(e.querySelector('path')).stroke])",
    )
    return [((source, target, kind), stroke) for source, target, kind, stroke in found]


def _edges_of_the_history(page: Any, local: LocalAws, execution_arn: str, status: str) -> set[Edge]:
    """The drawn edges the history's transitions went along (a catch by its Catch edge, the rest by Next,
    Choice or Default), and the start marker's edge."""
    drawn = [edge for edge, _ in _edges(page, "#graph .edge")]
    path = execution_path(read_history(local.client("stepfunctions"), execution_arn), status)
    expected = {edge for edge in drawn if edge[2] == "start"}
    for transition in path.transitions:
        between = [e for e in drawn if (e[0], e[1]) == (transition.source, transition.target)]
        assert between, f"no edge drawn for {transition}"
        exact = [e for e in between if (e[2] == "catch") == (transition.kind == "catch")]
        expected.update(exact or between)
    return expected


def _assert_painted_as_shown(page: Any, coloured: dict[str, str]) -> None:
    """The rendered colours agree with the statuses: every state on the path, and no state off it."""
    for state, fill in _rendered_fills(page).items():
        expected = NODE_FILL.get(coloured.get(state, ""))
        if expected is None:
            assert fill not in NODE_FILL.values(), f"{state!r} is off the path but painted {fill}"
        else:
            assert fill == expected, f"{state!r} is {coloured[state]} but painted {fill}"
    for (source, target, kind), stroke in _edges(page, "#graph .edge.taken"):
        wanted = TAKEN_STROKE["catch" if kind == "catch" else "next"]
        assert stroke == wanted, f"taken edge {source} → {target} ({kind}) painted {stroke}"


def _place_from_page(page: Any, sample: str) -> str:
    page.select_option("#sample", sample)
    page.click("#place-order")
    page.wait_for_function(
        "document.querySelector('#action-status').textContent.startsWith('placed')", timeout=10_000
    )
    return str(page.get_attribute("#action-status", "data-order-id"))


def _open_execution(page: Any, order_id: str) -> str:
    row = f'#executions tr[data-order-id="{order_id}"]'
    page.wait_for_selector(row, timeout=20_000)
    page.click(row)
    page.wait_for_selector("#graph .node[data-status]", timeout=10_000)
    return str(page.get_attribute(row, "data-execution-arn"))


def _follow_to_the_end(page: Any, local: LocalAws, execution_arn: str, expected: str) -> None:
    """Wait for the execution to end (the test fails at the deadline), check how, then wait for the page."""
    sfn = local.client("stepfunctions")

    def finished() -> str | None:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        return status if status in TERMINAL_STATUSES else None

    status = wait_for(finished, timeout=ORDER_DEADLINE_SECONDS, every=0.5)
    assert status == expected, f"{execution_arn} ended {status}, expected {expected}"
    page.wait_for_selector(f'#execution-detail[data-status="{status}"]', timeout=30_000)


def test_graph_shows_every_state_of_the_deployed_definition(page: Any, orderflow_local: LocalAws) -> None:
    # Given the definition the endpoint serves
    sfn = orderflow_local.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])

    def names(scope: dict[str, Any]) -> Iterator[str]:
        for name, state in scope["States"].items():
            yield name
            for child in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
                if child:
                    yield from names(child)

    # When the page has drawn the graph
    page.wait_for_selector('#graph .node[data-state="Validate Order"]', timeout=15_000)
    drawn = set(page.eval_on_selector_all("#graph .node", "nodes => nodes.map(n => n.dataset.state)"))
    _screenshot(page, "console-graph")

    # Then every state is there, nested ones included, and each Catch clause is an edge
    assert set(names(definition)) <= drawn
    assert page.get_attribute('#graph .node[data-state="Reserve Item"]', "data-type") == "Task"
    catches = page.eval_on_selector_all(
        '#graph .edge[data-kind="catch"]', "edges => edges.map(e => [e.dataset.source, e.dataset.target])"
    )
    assert ["Request Payment", "Cancel Order"] in catches
    assert ["Reserve Stock", "Release Stock"] in catches


def test_an_order_placed_from_the_page_shows_its_path_coloured(page: Any, orderflow_local: LocalAws) -> None:
    # Given the console with its graph drawn
    page.wait_for_selector('#graph .node[data-state="Validate Order"]', timeout=15_000)

    # When a normal order is placed from the page, its execution opened and followed until it succeeds
    order_id = _place_from_page(page, "normal")
    execution_arn = _open_execution(page, order_id)
    _follow_to_the_end(page, orderflow_local, execution_arn, "SUCCEEDED")
    coloured = _coloured_states(page)
    entered = _entered_states(orderflow_local, execution_arn)
    _screenshot(page, "console-execution-normal")

    # Then the coloured nodes are exactly the states the history entered, every one succeeded
    assert set(coloured) == entered
    assert set(coloured.values()) == {"succeeded"}
    assert coloured["Order Completed"] == "succeeded"
    # And the taken edges are exactly those the history went along, the start marker's included
    taken = {edge for edge, _ in _edges(page, "#graph .edge.taken")}
    assert taken == _edges_of_the_history(page, orderflow_local, execution_arn, "SUCCEEDED")
    # And the browser paints them so: green boxes on the path, none off it, green taken edges
    _assert_painted_as_shown(page, coloured)


def test_a_declined_order_shows_the_catch_and_the_failure(page: Any, orderflow_local: LocalAws) -> None:
    # Given the console
    page.wait_for_selector('#graph .node[data-state="Validate Order"]', timeout=15_000)

    # When a declined order is placed, its execution opened and followed until it fails
    order_id = _place_from_page(page, "declined")
    execution_arn = _open_execution(page, order_id)
    _follow_to_the_end(page, orderflow_local, execution_arn, "FAILED")
    coloured = _coloured_states(page)
    entered = _entered_states(orderflow_local, execution_arn)
    page.click('#graph .node[data-state="Request Payment"]')
    _screenshot(page, "console-execution-declined")

    # Then the path is the history's: the payment caught, the order ending failed, the rest succeeded
    assert set(coloured) == entered
    assert coloured["Request Payment"] == "caught"
    assert coloured["Order Cancelled"] == "failed"
    not_succeeded = {state for state, status in coloured.items() if status != "succeeded"}
    assert not_succeeded == {"Request Payment", "Order Cancelled"}
    assert "PaymentDeclined" in page.inner_text("#run-detail")
    # And the taken edges are exactly the history's, the catch from the payment to the cancellation among them
    taken = {edge for edge, _ in _edges(page, "#graph .edge.taken")}
    assert ("Request Payment", "Cancel Order", "catch") in taken
    assert taken == _edges_of_the_history(page, orderflow_local, execution_arn, "FAILED")
    # And the browser paints them so: orange for the catch, red for the failure, green for the rest
    _assert_painted_as_shown(page, coloured)


def _graph_fits_its_panel(page: Any) -> None:
    """Every state's box lies inside the graph's panel, and nothing scrolls."""
    box = page.locator("#graph-box").bounding_box()
    outside = page.eval_on_selector_all(
        "#graph .node:not(.compound)",
        """(nodes, box) => nodes.filter(n => {
            const r = n.getBoundingClientRect();
            return r.left < box.x - 1 || r.right > box.x + box.width + 1
                || r.top < box.y - 1 || r.bottom > box.y + box.height + 1;
        }).map(n => n.dataset.state)""",
        box,
    )
    assert outside == [], f"states drawn outside the graph's panel: {outside}"
    scrolls = page.eval_on_selector(
        "#graph-box", "b => [b.scrollWidth > b.clientWidth, b.scrollHeight > b.clientHeight]"
    )
    assert scrolls == [False, False]


def _screen_of(page: Any, selector: str, state: str) -> dict[str, float]:
    return dict(page.locator(f'{selector} .node[data-state="{state}"] > rect').bounding_box())


def _zoom_pan_and_fit(page: Any) -> None:
    """The wheel zooms around the pointer, dragging pans, fit shows the whole graph again."""
    # When the graph is zoomed in with the wheel over Reserve Item
    before = _screen_of(page, "#graph", "Reserve Item")
    page.mouse.move(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_function("Number(document.querySelector('#graph').dataset.zoom) > 1.5")
    after = _screen_of(page, "#graph", "Reserve Item")

    # Then Reserve Item is drawn larger, still under the pointer
    assert after["width"] > before["width"] * 1.5
    centre = (after["x"] + after["width"] / 2, after["y"] + after["height"] / 2)
    assert abs(centre[0] - (before["x"] + before["width"] / 2)) < 4
    assert abs(centre[1] - (before["y"] + before["height"] / 2)) < 4
    _screenshot(page, "console-out-of-stock-zoomed")

    # When it is dragged 100 px to the left, then fitted again
    page.mouse.down()
    page.mouse.move(centre[0] - 100, centre[1], steps=5)
    page.mouse.up()
    dragged = _screen_of(page, "#graph", "Reserve Item")
    assert abs(dragged["x"] - (after["x"] - 100)) < 4
    page.click("#zoom-fit")

    # Then the whole graph is back in its panel
    assert page.get_attribute("#graph", "data-zoom") == "1.000"
    _graph_fits_its_panel(page)


def test_a_multi_sku_order_out_of_stock_shows_each_map_iteration_and_its_status_events(
    page: Any, orderflow_local: LocalAws
) -> None:
    # Given the console, its whole graph fitted in its panel on open
    page.reload()
    page.wait_for_selector('#graph .node[data-state="Validate Order"]', timeout=15_000)
    _graph_fits_its_panel(page)
    assert page.get_attribute("#graph", "data-zoom") == "1.000"

    # When an order of two SKUs, the second out of stock, is placed, opened and followed until it fails
    order_id = _place_from_page(page, "out-of-stock")
    execution_arn = _open_execution(page, order_id)
    _follow_to_the_end(page, orderflow_local, execution_arn, "FAILED")
    path = execution_path(read_history(orderflow_local.client("stepfunctions"), execution_arn), "FAILED")
    skus = [
        json.loads(path.runs[i.runs[0]].input or "{}")["sku"]
        for i in path.iterations
        if i.map_state == "Reserve Stock"
    ]
    assert len(skus) == 2

    # Then Reserve Stock shows one fold per SKU, the out-of-stock one marked failed and open, with its
    # states' input and output
    folds = '#iterations details.iteration[data-map="Reserve Stock"]'
    page.wait_for_selector(f'{folds}[data-status="failed"]', timeout=10_000)
    shown = page.eval_on_selector_all(
        folds,
        "ds => ds.map(d => [d.dataset.index, d.dataset.status, d.open,"
        " d.querySelector('summary').innerText])",
    )
    # (the first item succeeds, unless the second fails while it is still in flight: then it is aborted)
    assert [index for index, _, _, _ in shown] == ["0", "1"]
    assert shown[0][1] in ("succeeded", "failed") and shown[1][1] == "failed"
    assert [sku in summary for (_, _, _, summary), sku in zip(shown, skus, strict=True)] == [True, True]
    failed = page.locator(f'{folds}[data-index="1"]')
    assert shown[1][2] is True  # the failed item is unfolded
    assert "OutOfStock" in failed.inner_text()
    assert json.loads(failed.locator(".iteration-run .state-input").inner_text())["sku"] == skus[1]
    # And the first item, unfolded, shows its own SKU's input, and its output if its state finished
    first = page.locator(f'{folds}[data-index="0"]')
    if not shown[0][2]:
        page.click(f'{folds}[data-index="0"] > summary')
    assert json.loads(first.locator(".state-input").inner_text())["sku"] == skus[0]
    if first.locator(".iteration-run").get_attribute("data-status") == "succeeded":
        assert json.loads(first.locator(".state-output").inner_text())["reservation"]["sku"] == skus[0]
    # And Release Stock shows both items released
    released = page.eval_on_selector_all(
        '#iterations details.iteration[data-map="Release Stock"]', "ds => ds.map(d => d.dataset.status)"
    )
    assert released == ["succeeded", "succeeded"]

    # And the timeline holds the status-change events the default bus received: RUNNING, then FAILED last
    page.wait_for_selector('#history tr.status-event[data-status="FAILED"]', timeout=15_000)
    types = page.eval_on_selector_all(
        "#history tbody tr", "rows => rows.map(r => r.dataset.status || r.dataset.type)"
    )
    assert types[0] == "ExecutionStarted" and types[1] == "RUNNING"
    assert types[-2:] == ["ExecutionFailed", "FAILED"]
    _screenshot(page, "console-out-of-stock")
    page.screenshot(path=str(SCREENSHOTS / "console-out-of-stock-full.png"), full_page=True)

    _zoom_pan_and_fit(page)


def test_the_resources_tab_shows_queues_alarms_and_topics(page: Any, orderflow_names: Any) -> None:
    # Given the console
    # When the resources tab is opened
    page.click("#tab-resources")
    page.wait_for_selector(f'#queues tr[data-queue="{orderflow_names("payment")}"]', timeout=10_000)
    page.wait_for_selector("#alarms tbody tr[data-alarm]", timeout=10_000)
    page.wait_for_selector(f'#topics [data-topic="{orderflow_names("order-status")}"]', timeout=10_000)
    page.wait_for_timeout(1500)  # one more refresh: notifications of the orders placed above
    page.screenshot(path=str(SCREENSHOTS / "console-resources.png"), full_page=True)

    # Then the payment queue shows its DLQ, and the order-status topic is listed
    row = page.inner_text(f'#queues tr[data-queue="{orderflow_names("payment")}"]')
    assert orderflow_names.dlq("payment") in row
    page.click("#tab-workflow")


def test_the_resources_tab_shows_an_import_and_its_rejected_lines(
    page: Any, orderflow_local: LocalAws, orderflow_names: Any
) -> None:
    # Given an order file with one line that is not JSON, imported through the bucket
    s3 = orderflow_local.client("s3")
    bucket = orderflow_names.import_bucket(orderflow_local.account_id, orderflow_local.region)
    good = json.dumps({**orders.sample("normal"), "orderId": "console-import-1"})
    version = s3.put_object(Bucket=bucket, Key="incoming/console.jsonl", Body=f"{good}\n{{oops\n".encode())[
        "VersionId"
    ]
    wait_for_report(s3, bucket, "incoming/console.jsonl", version, timeout=120)

    # When the resources tab lists the imports and the import is opened
    page.click("#tab-resources")
    # The tab redraws its tables at each refresh, so a row is located afresh at each step, never held: a held
    # row can be detached between finding it and clicking it (CI failed once on that)
    row = page.locator('#imports tr[data-import="incoming/console.jsonl"]')
    sync_api.expect(row).to_contain_text("completed", timeout=15_000)
    row.click()

    # Then its report shows the rejected line and why
    rejected = page.locator('#import-report tr[data-line="2"]')
    sync_api.expect(rejected).to_contain_text("line: not JSON", timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "console-imports.png"), full_page=True)
    page.click("#tab-workflow")


# DynamoDB ListTables as a page's fetch sends it (moto routes by credential scope; no signature check).
LIST_TABLES_HEADERS = {
    "content-type": "application/x-amz-json-1.0",
    "x-amz-target": "DynamoDB_20120810.ListTables",
    "authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
# Runs in a page: one fetch, and what the page could read of its answer (or the error fetch raised).
FETCH = """async ([url, init]) => {
  try {
    const response = await fetch(url, init);
    return { status: response.status, type: response.type, text: await response.text() };
  } catch (error) {
    return { error: String(error) };
  }
}"""


class _AnotherSite(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>another site</title><p>a page the user has open"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    """A web server on another loopback port: any page the user has open, not the endpoint's own."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnotherSite)
    thread = threading.Thread(target=server.serve_forever, name="another-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_of_another_origin_can_neither_read_tables_nor_act_and_the_console_still_works(
    page: Any, other_origin: str, console_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a page on another loopback port, open in the same browser as the console
    caplog.set_level(logging.WARNING)
    other = page.context.new_page()
    try:
        other.goto(f"{other_origin}/")

        # When it lists the tables through the AWS API, and places an order through the console's API,
        # with fetch as any script would (CORS), and blind (no-cors, a "simple" request with no preflight)
        read_tables = other.evaluate(
            FETCH, [f"{console_url}/", {"method": "POST", "headers": LIST_TABLES_HEADERS, "body": "{}"}]
        )
        order = {"method": "POST", "body": json.dumps({"sample": "normal"})}
        place = other.evaluate(
            FETCH,
            [
                f"{console_url}/_console/api/orders",
                {**order, "headers": {"content-type": "application/json"}},
            ],
        )
        blind = other.evaluate(
            FETCH,
            [
                f"{console_url}/_console/api/orders",
                {**order, "mode": "no-cors", "headers": {"content-type": "text/plain"}},
            ],
        )
    finally:
        other.close()
    # And the console's own page makes the very same table listing
    own = page.evaluate(
        FETCH, [f"{console_url}/", {"method": "POST", "headers": LIST_TABLES_HEADERS, "body": "{}"}]
    )

    # Then the other page read nothing: its calls failed in the browser, and the endpoint refused them
    assert "error" in read_tables, read_tables
    assert "error" in place, place
    assert blind.get("type") == "opaque" and blind.get("text") == "", blind
    refused = [
        r.getMessage()
        for r in caplog.records
        if f"refused a request from web origin {other_origin}" in r.getMessage()
    ]
    assert any(m.startswith("403 OPTIONS /:") for m in refused), refused  # the API's preflight
    assert any(m.startswith("403 OPTIONS /_console/api/orders:") for m in refused), refused
    assert any(m.startswith("403 POST /_console/api/orders:") for m in refused), refused  # the blind POST
    # And the console reads the tables, and still places an order from its page
    assert own.get("status") == 200 and "TableNames" in own["text"], own
    assert _place_from_page(page, "normal")
