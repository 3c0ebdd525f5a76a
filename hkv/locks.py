"""File locks of the run database (``fcntl.flock``), with a timeout.

Policy
------
Three kinds of lock, always taken in this order and released in reverse, so
no two processes can wait on each other in a cycle:

1. ``global.lock`` -- *shared* for a single ``set``/``delete`` and for
   reading a whole subtree; *exclusive* for a transaction, a snapshot, a
   restore and crash recovery. A transaction therefore never interleaves
   with any other write and a subtree read never sees half a transaction.
2. ``records.<group>.lock`` -- exclusive around the read-modify-write of
   one record file: two writers of the same record serialise, writers of
   different records run side by side, and no update is lost.
3. ``structure.lock`` -- exclusive, briefly, while a *new* key is created,
   so that two processes cannot create ``a.b`` (a value) and ``a.b.c``
   (making ``a.b`` a group) at the same moment.

Readers of a single key take no lock: records are replaced by ``rename``,
so a reader sees the old file or the new one, never half of one.

``flock`` locks belong to an open file description and vanish when the
process dies (SIGKILL included), so a crashed writer never leaves a stale
lock behind. An exclusive holder writes ``pid host time`` into the lock file;
a :class:`~peppers.errors.LockError` after the timeout names the file and
that holder.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

from peppers.errors import LockError

#: Seconds to wait for a lock before giving up (``$PEPPERS_LOCK_TIMEOUT``).
DEFAULT_TIMEOUT = float(os.environ.get("PEPPERS_LOCK_TIMEOUT", "120"))
_NOTE = 128  # fixed size of the holder note (overwritten in place: no truncate)


class FileLock:
    """One ``flock`` on one lock file; a context manager.

    Parameters
    ----------
    path : Path
        The lock file (created if missing; its content is only informative).
    shared : bool
        Take a shared (read) lock instead of an exclusive one.
    timeout : float
        Seconds to wait before raising :class:`~peppers.errors.LockError`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.lock"
    >>> with FileLock(path):
    ...     pass
    """

    def __init__(self, path: Path, *, shared: bool = False,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.shared = shared
        self.timeout = timeout
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds its lock now."""
        return self._fd is not None

    def acquire(self) -> "FileLock":
        """Take the lock, waiting up to ``timeout`` seconds."""
        if self._fd is not None:
            raise LockError(f"{self.path}: lock taken twice by the same owner")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        try:
            _wait_for(fd, mode, self.path, self.timeout)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        if not self.shared:
            note = f"{os.getpid()} {socket.gethostname()} {time.time():.3f}"
            os.pwrite(fd, note.encode()[:_NOTE - 1].ljust(_NOTE - 1) + b"\n", 0)
        return self

    def release(self) -> None:
        """Let the lock go (closing the descriptor releases the flock)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "FileLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _wait_for(fd: int, mode: int, path: Path, timeout: float) -> None:
    """Poll a non-blocking flock with growing sleeps until taken or timed out."""
    deadline = time.monotonic() + timeout
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockError(f"{path}: could not take the lock within {timeout:g} s; "
                                f"held by {holder(path)} (set $PEPPERS_LOCK_TIMEOUT to wait "
                                "longer)") from None
            time.sleep(pause)
            pause = min(pause * 1.5, 0.02)


def holder(path: Path) -> str:
    """Who last took ``path`` exclusively, as ``pid P on HOST since T``."""
    try:
        pid, host, since = Path(path).read_text().split()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(since)))
        return f"pid {pid} on {host} since {stamp}"
    except (OSError, ValueError):
        return "another process (a reader or writer sharing the lock)"
