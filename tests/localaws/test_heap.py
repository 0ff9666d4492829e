"""localaws.heap: the collector settled for a long-lived world, and put back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from localaws.heap import YOUNG_THRESHOLD, Heap, wanted
from localaws.local_aws import LocalAws


@pytest.fixture
def collector() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.unfreeze()
    yield before
    gc.set_threshold(*before)
    gc.unfreeze()


def test_settling_freezes_what_exists_and_raises_the_young_threshold(collector: tuple[int, int, int]) -> None:
    # Given a heap holding a long-lived structure
    kept = [{"n": n} for n in range(5_000)]
    heap = Heap()

    # When it is settled
    heap.settle()

    # Then what existed is frozen, and the young generation waits for more allocations
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *collector[1:])
    assert heap.settled


def test_restoring_puts_the_collector_back(collector: tuple[int, int, int]) -> None:
    # Given a settled heap, settled twice (a worker settles again after its first invocation)
    heap = Heap()
    heap.settle()
    heap.settle()

    # When it is restored
    heap.restore()

    # Then the thresholds are those from before the first settle, and nothing stays frozen
    assert gc.get_threshold() == collector
    assert gc.get_freeze_count() == 0
    assert not heap.settled


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("1", True), ("0", False), ("false", False), (" No ", False)]
)
def test_the_environment_can_leave_the_collector_alone(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {"ORDERFLOW_SETTLE_HEAP": value}
    assert wanted(environ) is expected


def test_a_local_stack_settles_its_process_once_up_and_puts_it_back_on_stop(
    collector: tuple[int, int, int], fixture_assembly: Path, tmp_path: Path
) -> None:
    # Given a stack of the fixture app
    local = LocalAws(cdk_out=fixture_assembly, port=0, run_dir=tmp_path, watch_assembly=False, prewarm=False)

    # When it is up, then stopped
    local.start()
    try:
        up = (gc.get_threshold(), gc.get_freeze_count())
    finally:
        local.stop()

    # Then while up the deployed world was frozen and young objects collected less often; stopped, the
    # collector is as it was
    assert up[0] == (YOUNG_THRESHOLD, *collector[1:])
    assert up[1] > 100_000
    assert (gc.get_threshold(), gc.get_freeze_count()) == (collector, 0)
