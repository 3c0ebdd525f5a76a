"""Work sharing: each rank's tasks by a request strategy (:mod:`peppers.ppe.strategies`).

``static`` and ``round-robin`` give fixed shares; ``dynamic`` has rank 0's
dispatcher thread hand out chunks on request while rank 0 computes too.
The dispatcher must get the GIL quickly while rank 0 computes: ``pep-ppe``
(the program every rank runs) shortens the interpreter's switch interval
at start; library code leaves it alone.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

from peppers.ppe.mpi.comm import POLL_MAX, POLL_MIN, TAG_REQUEST, TAG_WORK, Channel, quiet_barrier
from peppers.ppe.mpi.stats import RankStats
from peppers.ppe.strategies import ChunkQueue, assign


def share_work(worker: Any, channel: Channel, todo: Sequence[int], strategy: str,
               chunk: int) -> list[RankStats]:
    """Run this rank's share of ``todo`` with ``worker``, then wait for all; every rank's stats.

    ``worker`` has ``run(tasks) -> bool``, ``close()`` and ``me`` (its
    :class:`RankStats`, whose ``work`` and ``idle`` are filled in here).
    Collective: the final barrier sleeps, then the stats are allgathered.
    """
    comm, me = channel.comm, worker.me
    size = comm.Get_size()
    work_start = time.perf_counter()
    try:
        if size == 1:
            worker.run(todo)
        elif strategy == "dynamic":
            _run_dynamic(worker, channel, todo, size, chunk)
        else:
            worker.run(assign(strategy, todo, size, chunk)[channel.rank])
    finally:
        worker.close()
        me.work = time.perf_counter() - work_start - me.request
    me.idle = quiet_barrier(comm)
    channel.finish()
    return comm.allgather(me)


def stripe(plan: Any) -> int:
    """Tasks in one stripe of tiles across the image (the default round-robin chunk)."""
    if not plan.tasks:
        return 1
    first_row = plan.tile(*plan.tasks[0]).row
    return sum(1 for node, tile in plan.tasks if plan.tile(node, tile).row == first_row)


def _run_dynamic(worker: Any, channel: Channel, todo: Sequence[int], size: int,
                 chunk: int) -> None:
    """Dynamic strategy: rank 0 dispatches (in a thread) and computes; others ask."""
    if channel.rank != 0:
        while True:
            asked = time.perf_counter()
            tasks = channel.request_work()
            worker.me.request += time.perf_counter() - asked
            if tasks is None:
                return
            if not worker.run(tasks):
                channel.send("bye", 0, TAG_REQUEST)
                return
    queue = ChunkQueue(todo, size, chunk)
    dispatcher = threading.Thread(target=_dispatch, args=(channel, queue, size),
                                  name="ppe-dispatcher", daemon=True)
    dispatcher.start()
    try:
        while True:
            tasks = queue.next()
            if tasks is None or not worker.run(tasks):
                break
    finally:
        queue.stop()
        dispatcher.join()


def _dispatch(channel: Channel, queue: ChunkQueue, size: int) -> None:
    """Rank 0's dispatcher thread: answer chunk requests until every other rank is done.

    A rank is done when it was answered None (no more work) or said ``bye``
    (it failed or was told to stop).
    """
    from mpi4py import MPI

    remaining = size - 1
    delay = POLL_MIN
    while remaining:
        if channel.poll_stop():
            queue.stop()
        found, source, message = channel.probe(MPI.ANY_SOURCE, TAG_REQUEST)
        if not found:
            time.sleep(delay)
            delay = min(2 * delay, POLL_MAX)
            continue
        delay = POLL_MIN
        if message == "bye":
            remaining -= 1
            continue
        tasks = queue.next()
        channel.send(tasks, source, TAG_WORK)
        if tasks is None:
            remaining -= 1
