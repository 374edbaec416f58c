"""CPU slots: how many heavy tool processes (Yosys, g++ under make) this process runs at once.

A build runs its main-thread stages beside a background synth stage (:mod:`flow.pipeline`). On a
machine with few cores, more runnable compilers and synthesizers than cores made every one of them
slower (on 2 cores the same work took about 20 % more CPU time, so the overlap gained nothing).
Here the process has one slot per core:

* a main-thread stage of the pipeline holds one slot while it runs (:func:`hold`);
* every Yosys job takes a slot while it runs (:func:`slot`), lending the caller's own slot while it
  waits on them (:func:`lend`), so a synthesis in the main thread still runs one job per core;
* a C++ build takes what is free on top of the caller's slot (:func:`extra`) for ``make -j``.

So the background Yosys runs one job per core that the main thread does not use, and takes both
cores once the main thread waits for it. Slots are per process: separate processes (``flow explore
--jobs``) do not share them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_SLOTS = max(1, os.cpu_count() or 1)
_pool = threading.BoundedSemaphore(_SLOTS)
_local = threading.local()


def cores() -> int:
    return _SLOTS


def _held() -> int:
    return getattr(_local, "held", 0)


@contextlib.contextmanager
def hold() -> Iterator[None]:
    """Hold one slot in this thread for the duration (a pipeline stage on the main thread)."""
    _pool.acquire()
    _local.held = _held() + 1
    try:
        yield
    finally:
        _local.held = _held() - 1
        _pool.release()


@contextlib.contextmanager
def lend() -> Iterator[None]:
    """Give this thread's slots back while it only waits for others (a pool of tool jobs)."""
    n = _held()
    for _ in range(n):
        _pool.release()
    _local.held = 0
    try:
        yield
    finally:
        for _ in range(n):
            _pool.acquire()
        _local.held = n


@contextlib.contextmanager
def slot() -> Iterator[None]:
    """One slot for one tool process (blocks until one is free)."""
    with hold():
        yield


@contextlib.contextmanager
def extra(most: int) -> Iterator[int]:
    """Up to ``most`` more slots that are free right now (never blocks); yields how many it got."""
    got = 0
    while got < most and _pool.acquire(blocking=False):
        got += 1
    try:
        yield got
    finally:
        for _ in range(got):
            _pool.release()
