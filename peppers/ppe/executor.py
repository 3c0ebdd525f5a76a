"""Executors: where the tasks of a stream run.

The engine (:mod:`peppers.ppe.engine`) is generic over an executor, in the
manner of ``dask/local.py``'s ``get_async(submit, ...)``: it needs only
``submit(fn, *args) -> Future`` and a worker count (to bound the tasks in
flight). Each task runs its whole pull -- the target tile and, recursively,
the upstream tiles it needs and nobody has cached -- in the worker that
took it, so no worker ever waits for a queued task (no pool deadlock), and
two workers that need the same upstream tile share one computation through
the tile cache's futures.

``ThreadExecutor``
    A thread pool; numba (``nogil=True``) and pyFFTW kernels release the GIL,
    so tiles really run in parallel. Default: all cores. ``resize(n)``
    changes the thread count while a stream runs (the run monitor's "set
    threads").
``SerialExecutor``
    Runs each task at once in the calling thread (debugging, profiling, and
    an MPI rank that wants no threads).

An MPI executor hands out task indices of the same plan to ranks; each rank
runs the engine over its share with one of these executors.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


def default_threads() -> int:
    """Number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class Executor(ABC):
    """Runs tasks; the engine keeps at most ``2 * n_workers`` in flight."""

    n_workers: int = 1

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Schedule ``fn(*args)``; return its future."""

    def shutdown(self) -> None:
        """Release the workers (waits for running tasks)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class ThreadExecutor(Executor):
    """A pool of ``n_threads`` threads (default: all cores).

    Raises
    ------
    ValueError
        If ``n_threads`` is not a positive integer.
    """

    def __init__(self, n_threads: int | None = None) -> None:
        n = default_threads() if n_threads is None else n_threads
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"threads must be a positive integer, got {n_threads!r}")
        self.n_workers = n
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="ppe")
        self._retired: list[ThreadPoolExecutor] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._pool.submit(fn, *args)

    def resize(self, n_threads: int) -> None:
        """Run new tasks on ``n_threads`` threads; tasks already submitted finish where they are.

        Raises
        ------
        ValueError
            If ``n_threads`` is not a positive integer.
        """
        if not isinstance(n_threads, int) or isinstance(n_threads, bool) or n_threads < 1:
            raise ValueError(f"threads must be a positive integer, got {n_threads!r}")
        if n_threads == self.n_workers:
            return
        old, self._pool = self._pool, ThreadPoolExecutor(max_workers=n_threads,
                                                         thread_name_prefix="ppe")
        self.n_workers = n_threads
        old.shutdown(wait=False)
        self._retired.append(old)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for pool in self._retired:
            pool.shutdown(wait=True)
        self._retired.clear()

    def __repr__(self) -> str:
        return f"ThreadExecutor({self.n_workers})"


class SerialExecutor(Executor):
    """Runs every task immediately in the calling thread."""

    n_workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # noqa: BLE001 - handed to the engine
            future.set_exception(error)
        return future

    def __repr__(self) -> str:
        return "SerialExecutor()"
