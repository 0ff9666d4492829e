"""speedups.stepfunctions: moto's TMP_THREADS list is pruned of finished threads, amortised over starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.stepfunctions.parser import utils as sfn_utils

from localaws.patches import speedups
from localaws.patches.speedups import stepfunctions


class _Thread:
    """A stand-in that counts how often the pruning asks whether it is alive."""

    asked = 0

    def __init__(self, alive: bool) -> None:
        self.alive = alive

    def is_alive(self) -> bool:
        _Thread.asked += 1
        return self.alive


@pytest.fixture(autouse=True)
def _moto_list_restored() -> Iterator[list[object]]:
    saved = list(sfn_utils.TMP_THREADS)
    speedups.clear_caches()
    yield sfn_utils.TMP_THREADS
    sfn_utils.TMP_THREADS[:] = saved
    speedups.clear_caches()


def test_finished_threads_are_dropped_and_the_next_scan_waits_for_the_list_to_double() -> None:
    # Given moto's list past the first threshold: 3000 alive threads and 1000 finished ones
    alive = [_Thread(True) for _ in range(3000)]
    sfn_utils.TMP_THREADS[:] = [*alive, *(_Thread(False) for _ in range(1000))]

    # When a start prunes it
    stepfunctions._prune_finished_threads()

    # Then only the alive threads are left (the very objects, in order) and the next pruning waits for 6000
    assert alive == sfn_utils.TMP_THREADS
    assert stepfunctions.tmp_threads.prune_at == 6000

    # When more starts add threads, up to that
    _Thread.asked = 0
    sfn_utils.TMP_THREADS.extend(_Thread(False) for _ in range(3000))
    stepfunctions._prune_finished_threads()

    # Then nothing was scanned; past it, the finished ones go
    assert _Thread.asked == 0 and len(sfn_utils.TMP_THREADS) == 6000
    sfn_utils.TMP_THREADS.append(_Thread(False))
    stepfunctions._prune_finished_threads()
    assert alive == sfn_utils.TMP_THREADS and _Thread.asked == 6001


def test_a_small_list_is_left_alone_and_clearing_the_caches_restarts_the_threshold() -> None:
    # Given a list below the first threshold, all finished
    sfn_utils.TMP_THREADS[:] = [_Thread(False) for _ in range(100)]

    # When a start prunes it, then the caches are cleared
    stepfunctions._prune_finished_threads()
    stepfunctions.tmp_threads.prune_at = 10
    speedups.clear_caches()

    # Then it was not touched, and the threshold is moto-sized again
    assert len(sfn_utils.TMP_THREADS) == 100
    assert stepfunctions.tmp_threads.prune_at == 2048
