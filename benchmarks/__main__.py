"""How fast the local Step Functions engine runs, and how it compares with a local peer.

``python -m benchmarks`` prints one JSON object on stdout:

* ``engine``: a five-state definition (DynamoDB putItem, Choice, SQS sendMessage, SNS publish, Pass) run
  N times in-process, with stock moto and with ``localaws.patches.speedups.install()`` in the same run; a
  leave-one-out ablation of the engine's patches; and the same workload over HTTP against a moto server
  (engine installed) in a child process.
* ``peer``: the same workload over HTTP against MiniStack, when a Python with ``ministack`` installed is given
  (``--ministack-python`` or ``MINISTACK_PYTHON``); otherwise it says why it did not run.
* ``localstack``: the same again against LocalStack, the second peer (``--localstack-python`` or
  ``LOCALSTACK_PYTHON``, LocalStack's own venv: ``localstack_peer.localstack_part``).
* ``chaos``: a short ``orderflow load`` run with every fault kind (``chaos.chaos_part``): throughput, latency,
  faults injected, invariant violations.
* ``orders``: whole orders end to end through ``LocalAws`` (the synthesized template in ``cdk.out``, the real
  Lambda handlers in worker processes, all delivery mechanisms): ``OrderPlaced`` events are put on the bus at
  a paced rate, in steps of increasing rate; each step reports the completion rate and the P50/P95 latency
  from PutEvents to the order's execution reaching a terminal status. The sustained rate is the highest step
  that kept up (completions at >= 90 % of the offered rate, P95 under 5 s). Each step reports the CPU per
  order of the whole stack (``benchmarks.cpu``), by process and by component, and the endpoint's calls per
  order by way in, service and operation, with the CPU of each (``endpoint_calls``,
  ``localaws.endpoint.request_tally``).
* ``callbacks``: what SendTaskSuccess/Failure/Heartbeat, DescribeExecution and StartExecution cost with
  N executions held, with and without the execution index (``benchmarks.callbacks``).
* ``held``: what an order's DynamoDB Query and Kinesis PutRecord cost with N orders' items and records held,
  with moto's own code and with the speed-ups, interleaved (``benchmarks.held``).
* ``imports``: one order file of ``--import-orders`` lines through the bulk-import pipeline
  (``imports.import_part``): when its report came, when every order ended, orders per second, and the CPU
  per imported order of the whole stack, with what held the importer back.
* ``suite``: the wall time and CPU of the workflow scenario suite (``make test-sfn``), run once.

Every part is a function returning a dict (``engine.engine_part``, ``peer.peer_part``,
``orders.orders_part``; ``workload`` holds what the engine and peer parts share); ``main`` puts them in one
object. Everything binds to loopback, every wait is bounded, and child processes are stopped before
returning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.callbacks import callbacks_part
from benchmarks.chaos import chaos_part
from benchmarks.engine import engine_part, serve_moto
from benchmarks.held import held_part
from benchmarks.imports import import_part
from benchmarks.localstack_peer import localstack_part
from benchmarks.orders import orders_part
from benchmarks.peer import peer_part
from benchmarks.suite import suite_part


def _counts(text: str) -> tuple[int, ...]:
    """``0,1000,10000`` as numbers: the held sizes of a step-by-step part."""
    return tuple(int(count) for count in text.split(","))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300, help="executions per measured run (300)")
    parser.add_argument("--concurrency", type=int, default=8, help="callers with one execution in flight (8)")
    parser.add_argument(
        "--no-ablation", dest="ablation", action="store_false", help="skip leave-one-out runs"
    )
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the moto-over-HTTP run")
    parser.add_argument("--no-peer", dest="peer", action="store_false", help="skip the MiniStack run")
    parser.add_argument(
        "--no-localstack", dest="localstack", action="store_false", help="skip the LocalStack run"
    )
    parser.add_argument("--localstack-python", help="LocalStack's venv Python (or LOCALSTACK_PYTHON)")
    parser.add_argument("--no-orders", dest="orders_part", action="store_false", help="skip the orders run")
    parser.add_argument("--no-engine", dest="engine_part", action="store_false", help="skip parts 1 and 2")
    parser.add_argument(
        "--no-callbacks", dest="callbacks", action="store_false", help="skip the callbacks-vs-held run"
    )
    parser.add_argument(
        "--callbacks-held",
        type=_counts,
        default=(0, 1_000, 10_000),
        help="executions held at each step of the callbacks run (0,1000,10000)",
    )
    parser.add_argument(
        "--no-held", dest="held", action="store_false", help="skip the Query/PutRecord-vs-held run"
    )
    parser.add_argument(
        "--held-orders",
        type=_counts,
        default=(0, 5_000, 10_000),
        help="orders' items and records held at each step of the held run (0,5000,10000)",
    )
    parser.add_argument("--no-suite", dest="suite", action="store_false", help="skip the test-sfn timing")
    parser.add_argument("--orders", type=int, default=200, help="orders per rate step (200)")
    parser.add_argument(
        "--order-rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        # Steps of 5 around issue 10's target (25/s), up to its stretch (50/s): the first step not kept up
        # says how far the stack got.
        default=[5.0, 10.0, 20.0, 25.0, 30.0, 40.0, 50.0],
        help="offered orders/s, one step each, stopping at the first not kept up (5,10,20,25,30,40,50)",
    )
    parser.add_argument("--workers", type=int, default=2, help="Lambda workers per function (2)")
    parser.add_argument(
        "--import-orders", type=int, default=300, help="lines in the import run's order file, 0 to skip (300)"
    )
    parser.add_argument("--no-chaos", dest="chaos_part", action="store_false", help="skip the chaos run")
    parser.add_argument(
        "--chaos-orders", type=int, default=60, help="orders in the chaos run, every fault (60)"
    )
    parser.add_argument(
        "--ministack-python", help="a Python with `ministack` installed (or MINISTACK_PYTHON)"
    )
    parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    parser.add_argument(
        "--output",
        type=Path,
        help="also write the JSON to this file (make bench: .bench/results.json; make shares stdout)",
    )
    parser.add_argument("--serve-moto", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.executions <= 100_000 or not 1 <= args.concurrency <= 64:
        parser.error("--executions must be 1..100000 and --concurrency 1..64")
    return args


def _peer_report(args: argparse.Namespace, engine: dict[str, Any]) -> dict[str, Any]:
    if not args.peer:
        return {"ran": False, "reason": "--no-peer"}
    return peer_part(
        python=args.ministack_python or os.environ.get("MINISTACK_PYTHON"),
        executions=args.executions,
        concurrency=args.concurrency,
        log_dir=args.log_dir,
        ours_http_executions_per_s=engine.get("http", {}).get("executions_per_s"),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_moto:
        serve_moto(args.serve_moto)
        return 0
    report: dict[str, Any] = {}
    if args.engine_part:
        report["engine"] = engine_part(
            executions=args.executions,
            concurrency=args.concurrency,
            ablation=args.ablation,
            http=args.http,
            log_dir=args.log_dir,
        )
        report["peer"] = _peer_report(args, report["engine"])
        report["localstack"] = (
            localstack_part(
                python=args.localstack_python or os.environ.get("LOCALSTACK_PYTHON"),
                executions=args.executions,
                concurrency=args.concurrency,
                log_dir=args.log_dir,
                ours_http_executions_per_s=report["engine"].get("http", {}).get("executions_per_s"),
            )
            if args.localstack
            else {"ran": False, "name": "localstack", "reason": "--no-localstack"}
        )
    report["orders"] = (
        orders_part(orders=args.orders, rates=args.order_rates, workers=args.workers)
        if args.orders_part
        else {"ran": False, "reason": "--no-orders"}
    )
    report["callbacks"] = (
        callbacks_part(held=args.callbacks_held)
        if args.callbacks
        else {"ran": False, "reason": "--no-callbacks"}
    )
    report["held"] = held_part(held=args.held_orders) if args.held else {"ran": False, "reason": "--no-held"}
    report["imports"] = (
        import_part(orders=args.import_orders, workers=args.workers)
        if args.import_orders > 0
        else {"ran": False, "reason": "--import-orders 0"}
    )
    report["suite"] = suite_part() if args.suite else {"ran": False, "reason": "--no-suite"}
    report["chaos"] = (
        chaos_part(orders=args.chaos_orders, rate=4.0, faults="all", seed=1)
        if args.chaos_part
        else {"ran": False, "reason": "--no-chaos"}
    )
    text = json.dumps(report, indent=2, default=str) + "\n"
    sys.stdout.write(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
