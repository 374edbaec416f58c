"""CPU slots (flow/cpu.py): never more tool processes than slots; a waiting caller lends its slot."""

from __future__ import annotations

import threading
import time

import pytest

from flow import cpu


@pytest.fixture
def two_slots(monkeypatch):
    monkeypatch.setattr(cpu, "_SLOTS", 2)
    monkeypatch.setattr(cpu, "_pool", threading.BoundedSemaphore(2))


def _peak_of(jobs: int, body) -> int:
    """Run ``jobs`` threads through ``body(enter, leave)``; the most that were inside at once."""
    lock, inside, peak = threading.Lock(), [0], [0]

    def enter():
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])

    def leave():
        with lock:
            inside[0] -= 1

    threads = [threading.Thread(target=body, args=(enter, leave)) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return peak[0]


def _job(enter, leave):
    with cpu.slot():
        enter()
        time.sleep(0.05)
        leave()


def test_no_more_tool_processes_than_slots(two_slots):
    assert _peak_of(6, _job) == 2


def test_a_held_slot_leaves_one_for_tools_and_lending_frees_it(two_slots):
    with cpu.hold():  # a main-thread stage
        assert _peak_of(4, _job) == 1
        with cpu.lend():  # it now only waits for its tool jobs
            assert _peak_of(4, _job) == 2
        with cpu.extra(5) as more:  # the slot is back: one more is free, never more than that
            assert more == 1
            with cpu.extra(5) as none:
                assert none == 0


def test_extra_never_blocks_and_gives_slots_back(two_slots):
    with cpu.hold(), cpu.hold():
        t0 = time.perf_counter()
        with cpu.extra(3) as more:
            assert more == 0
        assert time.perf_counter() - t0 < 0.5
    with cpu.extra(3) as more:
        assert more == 2
    assert _peak_of(4, _job) == 2  # all released
