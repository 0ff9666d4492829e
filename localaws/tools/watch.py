"""``orderflow watch``: executions and where each one is now, queues and alarms, refreshed every second.

It reads the endpoint through the public AWS APIs (the same readers as the web console), so it watches the
embedded local AWS, or a real account with ``--endpoint-url`` pointing there.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from infra.naming import Names, configured_prefix
from localaws.console import readers
from localaws.endpoint.defaults import DEFAULT_ENDPOINT_URL, endpoint_url_from_environment, local_client

STATUS_STYLE = {
    "RUNNING": "yellow",
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "ABORTED": "red",
    "OK": "green",
    "ALARM": "bold red",
    "INSUFFICIENT_DATA": "yellow",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url", help=f"AWS endpoint (default: $AWS_ENDPOINT_URL or {DEFAULT_ENDPOINT_URL})"
    )
    parser.add_argument("--prefix", help="resource prefix (default: cdk.json's context, else orderflow)")
    parser.add_argument("--max", type=int, default=20, help="executions shown (newest first)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    parser.add_argument("--once", action="store_true", help="print one frame and exit")


class Watcher:
    """Builds one frame of the view from the endpoint."""

    def __init__(self, clients: dict[str, Any], names: Names, *, max_executions: int = 20) -> None:
        self._clients = clients
        self.names = names
        self.max_executions = max_executions
        self._executions = readers.ExecutionReader(clients["stepfunctions"])
        self._state_machine: str | None = None

    def frame(self) -> Group:
        return Group(self.executions_table(), self.queues_table(), self.alarms_table())

    def executions_table(self) -> Table:
        if self._state_machine is None:
            self._state_machine = readers.find_state_machine(self._clients["stepfunctions"], self.names)
        title = f"executions of {self._state_machine.rsplit(':', 1)[-1] if self._state_machine else '-'}"
        table = Table(title=title, title_justify="left", expand=True)
        for column in ("order", "status", "current state", "started", "duration"):
            table.add_column(column, overflow="fold")
        if self._state_machine is None:
            table.add_row("no state machine deployed (yet)", "", "", "", "")
            return table
        rows = self._executions.executions(
            self._state_machine, limit=self.max_executions, with_current_state=True
        )
        for row in rows:
            table.add_row(
                row.order_id or row.name,
                Text(row.status, style=STATUS_STYLE.get(row.status, "")),
                row.current_state or "",
                (row.start or "")[11:19],
                f"{row.duration_seconds:.1f} s" if row.duration_seconds is not None else "",
            )
        return table

    def queues_table(self) -> Table:
        table = Table(title="queues", title_justify="left", expand=True)
        for column in ("queue", "depth", "in flight", "DLQ", "DLQ depth"):
            table.add_column(column, overflow="fold")
        for queue in readers.queues(self._clients["sqs"], self.names):
            if queue.is_dlq:
                continue  # shown beside the queue it serves
            dlq_depth = "" if queue.dlq_depth is None else str(queue.dlq_depth)
            table.add_row(
                queue.name,
                str(queue.depth),
                str(queue.in_flight),
                queue.dlq or "",
                Text(dlq_depth, style="bold red" if queue.dlq_depth else ""),
            )
        return table

    def alarms_table(self) -> Table:
        table = Table(title="alarms", title_justify="left", expand=True)
        table.add_column("alarm", overflow="fold")
        table.add_column("state")
        table.add_column("since")
        for alarm in readers.alarms(self._clients["cloudwatch"], self.names):
            table.add_row(
                alarm["name"],
                Text(alarm["state"] or "", style=STATUS_STYLE.get(alarm["state"] or "", "")),
                (alarm["updated"] or "")[11:19],
            )
        return table


def _clients(endpoint: str) -> dict[str, Any]:
    return {
        service: local_client(service, endpoint_url=endpoint)
        for service in ("stepfunctions", "sqs", "cloudwatch")
    }


def main(args: argparse.Namespace) -> int:
    endpoint = args.endpoint_url or endpoint_url_from_environment()
    watcher = Watcher(_clients(endpoint), Names(args.prefix or configured_prefix()), max_executions=args.max)
    console = Console()
    try:
        if args.once:
            console.print(watcher.frame())
            return 0
        with Live(watcher.frame(), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(args.interval)
                live.update(watcher.frame())
    except (BotoCoreError, ClientError) as exc:
        Console(stderr=True).print(
            f"[bold red]error:[/] {exc} (is `orderflow local up` running on {endpoint}?)"
        )
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    import sys

    cli = argparse.ArgumentParser(prog="orderflow watch", description=__doc__)
    add_arguments(cli)
    sys.exit(main(cli.parse_args()))
