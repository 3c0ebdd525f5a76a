"""Messages between ranks: the channel, collective agreement, quiet waits.

Every MPI call of a rank goes through one :class:`Channel` (under one lock:
threads share it). Waiting never spins: MPICH's blocking calls busy-poll a
core, which on an oversubscribed node would steal it from ranks still
computing, so every wait here is a non-blocking test with a short, growing
sleep (:func:`poll`, :func:`quiet_barrier`).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Sequence

from peppers.errors import MPIRunError, PeppersError
from peppers.ppe.executor import default_threads

TAG_REQUEST, TAG_WORK, TAG_STOP = 71, 72, 73
POLL_MIN, POLL_MAX = 5e-5, 1e-3


class Stopped(Exception):
    """Another rank failed: stop starting tiles."""


class Channel:
    """This rank's messages, every MPI call under one lock (threads share it)."""

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.lock = threading.Lock()
        self.stop_reason: str | None = None
        self.failed: set[int] = set()
        self._sends: list[Any] = []

    def poll_stop(self) -> bool:
        """True once any rank asked to stop (this one included)."""
        with self.lock:
            status = self.MPI.Status()
            while self.comm.Iprobe(self.MPI.ANY_SOURCE, TAG_STOP, status):
                source = status.Get_source()
                message = self.comm.recv(source=source, tag=TAG_STOP)
                self.failed.add(source)
                self.stop_reason = self.stop_reason or message
        return self.stop_reason is not None

    def broadcast_stop(self, message: str) -> None:
        """Tell every other rank to stop (non-blocking sends)."""
        with self.lock:
            self.stop_reason = self.stop_reason or message
            for dest in range(self.comm.Get_size()):
                if dest != self.rank:
                    self._sends.append(self.comm.isend(message, dest=dest, tag=TAG_STOP))

    def probe(self, source: int, tag: int) -> tuple[bool, int, Any]:
        """``(found, source, message)``: receive one waiting message, if there is one."""
        with self.lock:
            status = self.MPI.Status()
            if not self.comm.Iprobe(source, tag, status):
                return False, -1, None
            source = status.Get_source()
            return True, source, self.comm.recv(source=source, tag=tag)

    def send(self, message: Any, dest: int, tag: int) -> None:
        with self.lock:
            self._sends.append(self.comm.isend(message, dest=dest, tag=tag))

    def request_work(self) -> list[int] | None:
        """Ask the dispatcher (rank 0) for the next chunk and wait for it, sleeping."""
        self.send("more", 0, TAG_REQUEST)
        return poll(lambda: self.probe(0, TAG_WORK))[2]

    def finish(self) -> None:
        """Complete this rank's sends and drop stop messages nobody needed."""
        while self.probe(self.MPI.ANY_SOURCE, TAG_STOP)[0]:
            pass
        with self.lock:
            for request in self._sends:
                request.wait()
            self._sends.clear()


def poll(attempt: Callable[[], Any]) -> Any:
    """Call ``attempt`` until its result's first item is true, sleeping 50 us .. 1 ms."""
    delay = POLL_MIN
    while True:
        result = attempt()
        if result[0]:
            return result
        time.sleep(delay)
        delay = min(2 * delay, POLL_MAX)


def quiet_barrier(comm: Any) -> float:
    """A barrier that sleeps instead of spinning; returns the seconds waited."""
    start = time.perf_counter()
    request = comm.Ibarrier()
    poll(lambda: (request.Test(),))
    return time.perf_counter() - start


def agree(comm: Any, action: Callable[[], Any], what: str) -> Any:
    """Run ``action`` on every rank (collective); if it fails anywhere, raise everywhere.

    Raises
    ------
    MPIRunError
        ``"{what} failed on rank R: message"`` (identical messages merged).
    """
    try:
        result, error = action(), None
    except (PeppersError, OSError, ValueError, TypeError) as exc:
        result, error = None, f"{exc}"
    quiet_barrier(comm)
    errors = comm.allgather(error)
    failed = [(r, e) for r, e in enumerate(errors) if e is not None]
    if failed:
        raise MPIRunError(f"{what} failed on {ranks_text(failed)}")
    return result


def ranks_text(failed: Sequence[tuple[Any, str]]) -> str:
    """``rank 1: msg`` lines, identical messages merged (``ranks 0, 1, 2: msg``)."""
    by_message: dict[str, list[Any]] = {}
    for rank, message in failed:
        by_message.setdefault(message, []).append(rank)
    return "; ".join(f"rank{'s' if len(r) > 1 else ''} {', '.join(map(str, r))}: {m}"
                     for m, r in by_message.items())


def node_threads(comm: Any) -> int:
    """Default threads per rank: this node's cores shared by its ranks."""
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return max(1, default_threads() // local.Get_size())
    finally:
        local.Free()
