"""Request strategies: which MPI rank computes which tasks of a stream's plan.

Every rank rebuilds the same deterministic :class:`~peppers.ppe.plan.Plan`
(:mod:`peppers.ppe.streamspec`), so a rank's work is just a list of task
indices; what differs between strategies is when and how the lists are made.

``static``
    Contiguous blocks of the plan order, one per rank, of equal task count
    (``numpy.array_split`` sizes). No messages at all, and the least
    recomputation: upstream tiles are computed twice only along the ``n -
    1`` block borders. Balanced only when tiles cost the same.
``round-robin``
    Block-cyclic: chunks of ``chunk`` consecutive tasks (default one stripe
    of tiles across the image) dealt to ranks in turn. Still no messages;
    a cost gradient along the image is shared out evenly, but every chunk
    border recomputes the upstream halo tiles, so a chain with halos does
    much more total work than under ``static``.
``dynamic``
    A dispatcher on rank 0 hands the next chunk of the plan order to
    whichever rank asks (rank 0 computes too; its dispatcher is a thread
    that sleeps between polls). Chunks follow *guided self-scheduling*
    (Polychronopoulos & Kuck 1987): each is ``ceil(remaining / (2 n))``
    tasks, but at least ``chunk`` (default 1), so early chunks are large
    (few messages, few borders) and the last are small (ranks finish
    together); sizes are multiples of ``chunk`` (default one stripe of
    tiles, so chunks are whole stripes). Balances any cost skew at the price
    of one round trip per chunk and a halo border per chunk.

The functions here are pure (no MPI) so they are tested directly;
:mod:`peppers.ppe.mpi` does the messaging.

References
----------
C. D. Polychronopoulos and D. J. Kuck, "Guided self-scheduling: a practical
scheduling scheme for parallel supercomputers", IEEE Trans. Computers
C-36(12), 1425-1439, 1987.
"""

from __future__ import annotations

import math
import threading
from typing import Sequence

#: Strategy names accepted by ``pep-ppe --strategy`` and HKV ``ppe.request_strategy``.
STRATEGIES = ("static", "round-robin", "dynamic")


def check_strategy(name: str) -> str:
    """Return ``name`` if it is a known strategy (``round_robin`` is accepted too).

    Raises
    ------
    ValueError
        Naming the strategies there are.
    """
    name = str(name).replace("_", "-")
    if name not in STRATEGIES:
        raise ValueError(f"unknown request strategy {name!r}; choose one of {list(STRATEGIES)}")
    return name


def static_blocks(tasks: Sequence[int], n: int) -> list[list[int]]:
    """Split ``tasks`` into ``n`` contiguous blocks whose sizes differ by at most one.

    Examples
    --------
    >>> static_blocks(range(7), 3)
    [[0, 1, 2], [3, 4], [5, 6]]
    """
    _check_ranks(n)
    tasks = list(tasks)
    base, extra = divmod(len(tasks), n)
    blocks, start = [], 0
    for r in range(n):
        size = base + (r < extra)
        blocks.append(tasks[start:start + size])
        start += size
    return blocks


def round_robin(tasks: Sequence[int], n: int, chunk: int = 1) -> list[list[int]]:
    """Deal chunks of ``chunk`` consecutive tasks to the ``n`` ranks in turn.

    Examples
    --------
    >>> round_robin(range(7), 2, chunk=2)
    [[0, 1, 4, 5], [2, 3, 6]]
    """
    _check_ranks(n)
    _check_chunk(chunk)
    tasks = list(tasks)
    shares: list[list[int]] = [[] for _ in range(n)]
    for c, start in enumerate(range(0, len(tasks), chunk)):
        shares[c % n].extend(tasks[start:start + chunk])
    return shares


def guided_size(remaining: int, n: int, chunk: int = 1) -> int:
    """The next guided chunk: ``remaining / (2 n)`` rounded up to a multiple of ``chunk``.

    At least ``chunk`` and at most ``remaining`` tasks; with ``chunk`` one
    stripe of tiles, chunks are whole stripes.
    """
    return min(remaining, chunk * max(1, math.ceil(remaining / (2 * n * chunk))))


def guided_chunks(tasks: Sequence[int], n: int, chunk: int = 1) -> list[list[int]]:
    """The chunks the dynamic dispatcher hands out, in order (whoever asks gets the next).

    Examples
    --------
    >>> [len(c) for c in guided_chunks(range(20), 2)]
    [5, 4, 3, 2, 2, 1, 1, 1, 1]
    >>> [len(c) for c in guided_chunks(range(20), 2, chunk=4)]
    [8, 4, 4, 4]
    """
    _check_ranks(n)
    _check_chunk(chunk)
    tasks = list(tasks)
    chunks, start = [], 0
    while start < len(tasks):
        size = guided_size(len(tasks) - start, n, chunk)
        chunks.append(tasks[start:start + size])
        start += size
    return chunks


def assign(strategy: str, tasks: Sequence[int], n: int, chunk: int) -> list[list[int]]:
    """Each rank's share under a static strategy (``static`` or ``round-robin``).

    Raises
    ------
    ValueError
        For ``dynamic`` (no fixed shares) or an unknown strategy.
    """
    strategy = check_strategy(strategy)
    if strategy == "static":
        return static_blocks(tasks, n)
    if strategy == "round-robin":
        return round_robin(tasks, n, chunk)
    raise ValueError("the dynamic strategy has no fixed shares; use ChunkQueue")


class ChunkQueue:
    """The dispatcher's queue of guided chunks (thread-safe).

    Rank 0's compute loop and its dispatcher thread (serving the other
    ranks) both take from it. After :meth:`stop` it hands out nothing more.

    Parameters
    ----------
    tasks : sequence of int
        Task indices still to do, in plan order.
    n : int
        Number of ranks taking chunks.
    chunk : int
        Smallest chunk.
    """

    def __init__(self, tasks: Sequence[int], n: int, chunk: int = 1) -> None:
        _check_ranks(n)
        _check_chunk(chunk)
        self._tasks = list(tasks)
        self._start = 0
        self._n, self._chunk = n, chunk
        self._lock = threading.Lock()
        self._stopped = False
        #: Chunks handed out so far.
        self.handed = 0

    def next(self) -> list[int] | None:
        """The next chunk, or None when all are handed out or the queue is stopped."""
        with self._lock:
            remaining = len(self._tasks) - self._start
            if self._stopped or remaining == 0:
                return None
            size = guided_size(remaining, self._n, self._chunk)
            chunk = self._tasks[self._start:self._start + size]
            self._start += size
            self.handed += 1
            return chunk

    def stop(self) -> None:
        """Hand out nothing more (a rank failed)."""
        with self._lock:
            self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped


def _check_ranks(n: int) -> None:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"number of ranks must be a positive integer, got {n!r}")


def _check_chunk(chunk: int) -> None:
    if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
        raise ValueError(f"chunk must be a positive number of tasks, got {chunk!r}")
