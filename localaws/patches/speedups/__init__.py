"""Speed-ups of moto: the same answers, for less CPU. One module per moto service, one ``PatchSet`` per idea.

Stock moto 5.2.5 re-does, for every request or execution, work whose result never changes; each module says
what it keeps and why that is safe. ``install()`` applies them all (or the named subset, for the
benchmark's ablation) and is idempotent; ``uninstall()`` restores moto's own code and drops the caches.
Every moto internal touched is registered in ``localaws.patches.registry``.
"""

from __future__ import annotations

from collections.abc import Iterable

from localaws.endpoint import json_fast_path, query_fast_path, sfn_fast_path
from localaws.patches import direct_dispatch
from localaws.patches.registry import PatchSet
from localaws.patches.speedups import (
    access_keys,
    core,
    dynamodb,
    dynamodb_conditions,
    dynamodb_query,
    events,
    execution_index,
    execution_threads,
    frames,
    history_timestamps,
    input_reads,
    json_copy,
    json_requests,
    json_text,
    kinesis,
    server,
    sns,
    sqs,
    stepfunctions,
    task_adapters,
    task_threads,
)

SPEEDUPS: tuple[PatchSet, ...] = (
    stepfunctions.PARSED_PROGRAM,
    stepfunctions.START_SNAPSHOT,
    stepfunctions.CLIENT_CACHE,
    stepfunctions.JSONPATH_CACHE,
    execution_index.EXECUTION_INDEX,
    json_copy.JSON_COPIES,
    json_text.JSON_TEXT,
    input_reads.READ_ONLY_INPUTS,
    history_timestamps.HISTORY_TIMESTAMPS,
    task_threads.TASK_THREADS,
    execution_threads.EXECUTION_THREADS,
    frames.LEAN_FRAMES,
    server.HTTP_DISPATCH,
    stepfunctions.DIRECT_DISPATCH,
    task_adapters.TASK_ADAPTERS,
    sfn_fast_path.SFN_HTTP,
    json_requests.JSON_REQUEST_READERS,
    json_fast_path.DYNAMODB_HTTP,
    json_fast_path.SQS_HTTP,
    json_fast_path.EVENTS_HTTP,
    json_fast_path.KINESIS_HTTP,
    query_fast_path.SNS_HTTP,
    server.ACTION_LOOKUP,
    server.REQUEST_IDS,
    access_keys.ACCESS_KEYS,
    sqs.SQS_QUEUE_ATTRIBUTES,
    dynamodb.DYNAMODB_TRANSACTIONS,
    dynamodb.DYNAMODB_UPDATE_EXPRESSIONS,
    dynamodb_conditions.DYNAMODB_CONDITION_EXPRESSIONS,
    dynamodb.DYNAMODB_VALIDATOR_TRAVERSAL,
    dynamodb.DYNAMODB_UPDATE_CHECKS,
    dynamodb_query.DYNAMODB_QUERY_PARTITION,
    events.EVENT_INPUT_PATHS,
    sns.SNS_SIGNING,
    kinesis.KINESIS_SEQUENCE_NUMBERS,
    core.BACKEND_LOOKUP,
)
PATCH_NAMES: tuple[str, ...] = tuple(speedup.name for speedup in SPEEDUPS)


def install(only: Iterable[str] | None = None) -> None:
    """Apply the speed-ups (all, or the named subset of ``PATCH_NAMES``); calling again is a no-op."""
    wanted = set(PATCH_NAMES if only is None else only)
    unknown = wanted - set(PATCH_NAMES)
    if unknown:
        raise ValueError(f"unknown speed-ups {sorted(unknown)}; known: {PATCH_NAMES}")
    for speedup in SPEEDUPS:
        if speedup.name in wanted:
            speedup.install()


def uninstall() -> None:
    """Restore moto's own code and drop the caches."""
    for speedup in reversed(SPEEDUPS):
        speedup.uninstall()
    clear_caches()


def installed() -> frozenset[str]:
    return frozenset(speedup.name for speedup in SPEEDUPS if speedup.installed)


def stats() -> dict[str, dict[str, int]]:
    """Hits and misses of each cache since install (or the last ``clear_caches``)."""
    return {
        "parsed_program": stepfunctions.programs.counts(),
        "client_cache": stepfunctions.clients.counts(),
        "jsonpath_ext": stepfunctions.ext_jsonpaths.counts(),
        "jsonpath_plain": stepfunctions.plain_jsonpaths.counts(),
        "http_dispatch_hosts": server.hosts.counts(),
        "dynamodb_update_expressions": dynamodb.update_expressions.counts(),
        "dynamodb_update_checks": {
            "hits": dynamodb.update_checks.hits,
            "misses": dynamodb.update_checks.misses,
        },
        "execution_index": execution_index.counts(),
        "dynamodb_condition_expressions": dynamodb_conditions.conditions.counts(),
        "task_adapters": task_adapters.stats.totals(),
        "json_request_readers": json_requests.readers.counts(),
    }


def clear_caches() -> None:
    for cache in stepfunctions.CACHES.values():
        cache.clear()
    stepfunctions.tmp_threads.reset()
    events.event_jsonpaths.clear()
    execution_index.clear()
    dynamodb.clear()
    dynamodb_conditions.clear()
    json_requests.clear()
    server.clear()
    access_keys.clear()
    history_timestamps.clear()
    sqs.clear()
    sns.clear()
    direct_dispatch.clear_routes()
    direct_dispatch.stats.reset()
    task_adapters.clear()
