"""``orderflow``: run the local AWS, place orders, and look at workflow executions.

Commands talk to the local endpoint (``--endpoint-url``, else ``AWS_ENDPOINT_URL``, else
http://127.0.0.1:4566) unless ``--profile`` or ``--region`` is given without an endpoint: then to real AWS.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from infra.naming import Names, configured_prefix
from localaws.endpoint.access_settings import access_settings_from_arguments, add_access_arguments
from localaws.endpoint.defaults import (
    DEFAULT_ENDPOINT_URL,
    DEFAULT_PORT,
    endpoint_url_from_environment,
    local_client,
)
from localaws.stepfunctions import wait_scale
from localaws.stepfunctions.history import (
    RUNNING,
    SUCCEEDED,
    TERMINAL_STATUSES,
    StateRun,
    execution_path,
    read_history,
)
from localaws.tools import demo, imports, orders, watch
from localaws.tools.cost import command as cost
from localaws.tools.load import run as load_run

if TYPE_CHECKING:
    from localaws.deploy.deployer import DeployReport
    from localaws.endpoint.access_settings import AccessSettings


console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """A failure we explain to the user in one line (exit status 1), without a traceback."""


# -- helpers --------------------------------------------------------------------------------------------


def _client(args: argparse.Namespace, service: str) -> Any:
    endpoint = args.endpoint_url or None
    real_aws = endpoint is None and (args.profile or args.region)
    if real_aws:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        # AWS_ENDPOINT_URL in the environment must not divert an explicit real-AWS call to the local endpoint.
        no_configured_endpoint: dict[str, Any] = {
            "ignore_configured_endpoint_urls": True
        }  # not in the stubs yet
        return session.client(service, config=Config(**no_configured_endpoint))  # type: ignore[call-overload]
    return local_client(service, endpoint_url=endpoint or endpoint_url_from_environment())


def _connection_hint(args: argparse.Namespace) -> str:
    if args.profile or args.region:
        return ""
    endpoint = args.endpoint_url or endpoint_url_from_environment()
    return f" (is `orderflow local up` running on {endpoint}?)"


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", help=f"AWS endpoint (default: $AWS_ENDPOINT_URL or {DEFAULT_ENDPOINT_URL})"
    )
    parser.add_argument("--profile", help="AWS profile: talk to real AWS")
    parser.add_argument("--region", help="AWS region: talk to real AWS")


# -- orderflow local up ---------------------------------------------------------------------------------


def _print_report(report: DeployReport, *, title: str) -> None:
    console.print(f"[bold]{title}[/]: {len(report.resources)} resources in {', '.join(report.stacks)}")
    if report.not_deployed:
        # Plain lines, not a table: logical ids are long and must never be truncated.
        console.print("[bold]not deployed (no local meaning)[/]:")
        for item in report.not_deployed:
            console.print(f"  - {item.stack}/{item.logical_id} ({item.type}): {item.reason}")
    for stack, outputs in report.outputs.items():
        for name, value in outputs.items():
            console.print(f"  {stack}.{name} = {value}")


def _print_access(access: AccessSettings) -> None:
    """What the endpoint serves beyond its own tools, when the user widened it (a reminder, not a default)."""
    if access.allowed_hosts:
        console.print(f"  also answers as: {', '.join(access.allowed_hosts)}")
    if not access.origin_checks:
        console.print(
            "[bold yellow]  origin checks are off: any web page in your browser can use this endpoint[/]"
        )
    elif access.cors_origins:
        console.print(f"  web pages allowed: {', '.join(access.cors_origins)}")


def _wait_scale(text: str) -> float:
    try:
        return wait_scale.parse(text, where="--wait-scale")
    except wait_scale.WaitScaleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _local_up(args: argparse.Namespace) -> int:
    # moto and the whole runtime load only for `local up`: the commands that talk to an endpoint start fast.
    from localaws.deploy.deployer import AssemblyNotFoundError  # noqa: PLC0415
    from localaws.endpoint.access import AccessSettingsError  # noqa: PLC0415
    from localaws.endpoint.server import PortInUseError  # noqa: PLC0415
    from localaws.local_aws import LocalAws  # noqa: PLC0415

    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").is_file():
        raise CliError(f"no synthesized app in {cdk_out}/: run `make synth` first")
    access = access_settings_from_arguments(args)
    try:
        local = LocalAws(
            cdk_out=cdk_out,
            port=args.port,
            run_dir=Path(args.run_dir),
            time_scale=args.time_scale,
            workers_per_function=args.workers,
            access=access,
            wait_scale=args.wait_scale,
        )
    except AccessSettingsError as exc:
        raise CliError(str(exc)) from exc
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        with console.status("starting the local AWS and deploying cdk.out ..."):
            report = local.start()
    except (PortInUseError, AssemblyNotFoundError) as exc:
        raise CliError(str(exc)) from exc
    try:
        _print_report(report, title="deployed")
        local.on_redeploy.append(
            lambda r: _print_report(r, title=f"redeployed ({len(r.created)} new, {len(r.updated)} changed)")
        )
        if not args.no_seed:
            table = orders.seed_catalogue(report, local.region)
            if table:
                console.print(
                    f"seeded {len(orders.CATALOGUE_SKUS)} SKUs x {orders.CATALOGUE_UNITS} units in {table}"
                )
            else:
                console.print("[yellow]no function has INVENTORY_TABLE: catalogue not seeded[/]")
        console.print(f"[bold green]local AWS ready[/] at [bold]{local.endpoint_url}[/]")
        console.print(
            f"  export AWS_ENDPOINT_URL={local.endpoint_url} AWS_REGION={local.region} "
            "AWS_DISABLE_HOST_PREFIX_INJECTION=true"
        )
        console.print(
            "    (the last one for TestState, which botocore sends to host sync-<endpoint>; "
            "in boto3 code: Config(inject_host_prefix=False))"
        )
        console.print(f"  console: {local.console_url}")
        if local.wait_scale != 1:
            console.print(f"  workflow waits (Wait, heartbeats, timeouts, retries) x {local.wait_scale:g}")
        _print_access(access)
        console.print(f"  Lambda logs: {Path(args.run_dir) / 'logs'}/<function>.log   (Ctrl-C stops)")
        stop.wait()
    finally:
        console.print("stopping ...")
        local.stop()
    return 0


# -- orderflow put-order --------------------------------------------------------------------------------


def _order_detail(args: argparse.Namespace) -> dict[str, Any]:
    if args.sample:
        return orders.sample(args.sample)
    if args.file:
        return orders.from_file(Path(args.file))
    raise CliError("give an order FILE or --sample NAME")


def _put_order(args: argparse.Namespace) -> int:
    try:
        detail = _order_detail(args)
        bus = args.bus or Names(configured_prefix())("orders")
        event_id = orders.put_order(_client(args, "events"), detail, bus)
    except orders.OrderError as exc:
        raise CliError(str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"PutEvents failed: {exc}{_connection_hint(args)}") from exc
    console.print(f"order {detail.get('orderId')} placed on {bus}: event id {event_id}")
    return 0


# -- orderflow import-orders ---------------------------------------------------------------------------


def _import_orders(args: argparse.Namespace) -> int:
    try:
        return imports.main(args, lambda service: _client(args, service))
    except imports.ImportOrdersError as exc:
        raise CliError(f"{exc}{_connection_hint(args)}") from exc


# -- orderflow executions -------------------------------------------------------------------------------


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _state_machines(sfn: Any, wanted: str | None) -> list[dict[str, Any]]:
    machines = [
        m for page in sfn.get_paginator("list_state_machines").paginate() for m in page["stateMachines"]
    ]
    if wanted:
        machines = [m for m in machines if wanted in (m["name"], m["stateMachineArn"])]
        if not machines:
            raise CliError(f"no state machine {wanted!r}")
    return machines


def _executions_list(args: argparse.Namespace) -> int:
    sfn = _client(args, "stepfunctions")
    try:
        table = Table(title="executions")
        for column in ("name", "status", "started", "stopped", "state machine"):
            table.add_column(column)
        for machine in _state_machines(sfn, args.state_machine):
            kwargs: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"], "maxResults": args.max}
            if args.status:
                kwargs["statusFilter"] = args.status
            for execution in sfn.list_executions(**kwargs)["executions"]:
                style = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow"}.get(
                    execution["status"], ""
                )
                table.add_row(
                    execution["name"],
                    f"[{style}]{execution['status']}[/]" if style else execution["status"],
                    _time(execution.get("startDate")),
                    _time(execution.get("stopDate")),
                    machine["name"],
                )
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"{exc}{_connection_hint(args)}") from exc
    console.print(table)
    return 0


def _outcome(run: StateRun) -> str:
    """One state run as the path table shows it: ok, or what went wrong in red."""
    if run.status == SUCCEEDED:
        return "ok"
    if run.status == RUNNING:
        return run.status
    return f"[red]{run.status}: {run.error}[/]" if run.error else f"[red]{run.status}[/]"


def _find_execution(sfn: Any, id_or_arn: str) -> str:
    if id_or_arn.startswith("arn:"):
        return id_or_arn
    for machine in _state_machines(sfn, None):
        paginator = sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=machine["stateMachineArn"]):
            for execution in page["executions"]:
                if execution["name"] == id_or_arn:
                    return str(execution["executionArn"])
    raise CliError(f"no execution named {id_or_arn!r}")


def _executions_show(args: argparse.Namespace) -> int:
    sfn = _client(args, "stepfunctions")
    try:
        arn = _find_execution(sfn, args.execution)
        execution = sfn.describe_execution(executionArn=arn)
        events = read_history(sfn, arn)
    except (BotoCoreError, ClientError) as exc:
        raise CliError(f"{exc}{_connection_hint(args)}") from exc
    console.print(
        f"[bold]{execution['name']}[/]  {execution['status']}  "
        f"{_time(execution.get('startDate'))} → {_time(execution.get('stopDate'))}"
    )
    table = Table(title="path")
    table.add_column("#", justify="right")
    table.add_column("state")
    table.add_column("outcome")
    for number, run in enumerate(execution_path(events, execution["status"]).runs, start=1):
        table.add_row(str(number), run.name, _outcome(run))
    console.print(table)
    console.print("[bold]input[/]")
    console.print_json(execution.get("input") or "null")
    if execution.get("output"):
        console.print("[bold]output[/]")
        console.print_json(execution["output"])
    if execution.get("error") or execution.get("cause"):
        console.print(f"[bold red]error[/] {execution.get('error')}: {execution.get('cause')}")
    return 0


# -- wiring ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orderflow", description="orderflow: the order workflow, on AWS or on one machine"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="the embedded local AWS").add_subparsers(
        dest="local_command", required=True
    )
    up = local.add_parser("up", help="start the local AWS, deploy cdk.out and run until Ctrl-C")
    up.add_argument("--port", type=int, default=DEFAULT_PORT)
    up.add_argument("--cdk-out", default="cdk.out")
    up.add_argument("--run-dir", default=".localaws", help="logs and scratch files")
    up.add_argument("--no-seed", action="store_true", help="do not stock the inventory catalogue")
    up.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies CloudWatch periods, batching windows and backoffs (0.1: ten times faster)",
    )
    up.add_argument(
        "--wait-scale",
        type=_wait_scale,
        default=None,
        help="multiplies the workflow engine's Wait states, heartbeats, timeouts and retry pauses "
        "(0.01: a 60 s heartbeat takes 0.6 s; default $ORDERFLOW_WAIT_SCALE or 1); "
        "histories keep the unscaled values",
    )
    up.add_argument("--workers", type=int, default=2, help="warm workers per Lambda function")
    add_access_arguments(up)
    up.set_defaults(run=_local_up)

    put = commands.add_parser("put-order", help="publish an OrderPlaced event")
    put.add_argument("file", nargs="?", help="JSON file with the order (the event detail)")
    put.add_argument("--sample", help=f"a bundled sample: {', '.join(orders.sample_names())}")
    put.add_argument("--bus", help="event bus name (default: <prefix>-orders)")
    _add_connection_options(put)
    put.set_defaults(run=_put_order)

    import_parser = commands.add_parser(
        "import-orders", help="import an order file through the imports bucket"
    )
    imports.add_arguments(import_parser)
    _add_connection_options(import_parser)
    import_parser.set_defaults(run=_import_orders)

    executions = commands.add_parser("executions", help="workflow executions").add_subparsers(
        dest="executions_command", required=True
    )
    listing = executions.add_parser("list", help="list executions")
    listing.add_argument("--state-machine", help="name or ARN (default: all)")
    listing.add_argument("--status", choices=["RUNNING", *sorted(TERMINAL_STATUSES)])
    listing.add_argument("--max", type=int, default=100)
    _add_connection_options(listing)
    listing.set_defaults(run=_executions_list)
    show = executions.add_parser("show", help="one execution: its path of states, input, output, error")
    show.add_argument("execution", metavar="ID_OR_ARN")
    _add_connection_options(show)
    show.set_defaults(run=_executions_show)

    watch_parser = commands.add_parser("watch", help="a live view of executions, queues and alarms")
    watch.add_arguments(watch_parser)
    watch_parser.set_defaults(run=watch.main)

    demo_parser = commands.add_parser("demo", help="the main job: sample orders through the local AWS")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(run=demo.main)

    cost_parser = commands.add_parser("cost", help="the deployed stack on paper: transitions, $, quotas")
    cost.add_arguments(cost_parser)
    cost_parser.set_defaults(run=cost.main)
    load_parser = commands.add_parser("load", help="orders at a rate with faults; checks the order promise")
    load_run.add_arguments(load_parser)
    load_parser.set_defaults(run=load_run.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CliError as exc:
        errors.print(f"[bold red]error:[/] {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
