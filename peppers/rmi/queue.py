"""First-come queues for shared resources, in a spool directory.

Runs that need the same shared resource (a name such as ``cluster``, from
HKV ``rmi.resource`` or ``--queue NAME``) take a numbered *ticket* and run
one at a time in ticket order: the holder of the lowest live ticket owns
the resource; the others wait. The spool is a directory
(``$PEPPERS_SPOOL``, default ``~/.local/share/peppers/spool``) that every
participating host can see::

    SPOOL/<resource>/.lock                 flock: held for a moment by whoever edits
    SPOOL/<resource>/counter               last ticket number handed out
    SPOOL/<resource>/000000000042.ticket   JSON: holder identity, run, time

Tickets are written atomically (temporary file, fsync, rename) and numbered
from the counter under the lock, so two runs never share a number and
order is first-come. A holder that crashes leaves its ticket behind; every
waiter *reaps* tickets whose process is dead -- same host, and the pid is
gone, a zombie, or a different process with a recycled pid (its start time
differs; :class:`~peppers.rmi.process.ProcessId`). A ticket from another
host cannot be checked and is kept: waiting on a live holder is safe,
stealing its lock is not (remove such a ticket by hand, ``pep queue``
shows it).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from peppers.errors import QueueError
from peppers.io.atomic import atomic_write_bytes
from peppers.rmi.process import ProcessId

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def spool_dir() -> Path:
    """``$PEPPERS_SPOOL``, else ``~/.local/share/peppers/spool``."""
    chosen = os.environ.get("PEPPERS_SPOOL")
    return Path(chosen) if chosen else Path.home() / ".local/share/peppers/spool"


@dataclass(frozen=True)
class Ticket:
    """One place in a resource's queue."""

    resource: str
    number: int
    holder: ProcessId
    run: str
    since: float
    path: Path

    def state(self) -> str:
        """The holder's state: ``alive``, ``dead`` or ``unknown`` (another host)."""
        return self.holder.state()


class ResourceQueue:
    """The queue of one resource in a spool directory.

    Parameters
    ----------
    resource : str
        The resource name (letters, digits, ``_.-``; at most 64 characters).
    spool : path-like, optional
        The spool directory (default :func:`spool_dir`).

    Raises
    ------
    QueueError
        If the name is not valid or the spool cannot be created.
    """

    def __init__(self, resource: str, spool: str | os.PathLike | None = None) -> None:
        if not isinstance(resource, str) or not _NAME.fullmatch(resource):
            raise QueueError(f"resource name {resource!r} is not valid: use letters, digits, "
                             "'_', '.', '-' (at most 64 characters)")
        self.resource = resource
        self.folder = Path(spool if spool is not None else spool_dir()) / resource
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise QueueError(f"{self.folder}: cannot create the spool folder: "
                             f"{error.strerror}") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def tickets(self) -> list[Ticket]:
        """Every readable ticket, in queue order (unreadable files are skipped)."""
        out = []
        for path in sorted(self.folder.glob("*.ticket")):
            try:
                data = json.loads(path.read_text())
                out.append(Ticket(self.resource, int(path.stem), ProcessId.from_dict(
                    data["holder"]), str(data.get("run", "")), float(data.get("since", 0)),
                    path))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    def enqueue(self, holder: ProcessId, run: str) -> Ticket:
        """Take the next ticket for ``holder`` (a run at path ``run``)."""
        with self._locked():
            counter = self.folder / "counter"
            try:
                last = int(counter.read_text().strip() or 0)
            except FileNotFoundError:
                last = 0
            last = max([last] + [t.number for t in self.tickets()])
            number = last + 1
            atomic_write_bytes(counter, f"{number}\n".encode())
            path = self.folder / f"{number:012d}.ticket"
            since = time.time()
            atomic_write_bytes(path, json.dumps({"holder": holder.to_dict(), "run": run,
                                                 "since": since}).encode() + b"\n")
        return Ticket(self.resource, number, holder, run, since, path)

    def reap(self) -> list[Ticket]:
        """Remove the tickets of dead holders; return them."""
        gone = []
        with self._locked():
            for ticket in self.tickets():
                if ticket.state() == "dead":
                    ticket.path.unlink(missing_ok=True)
                    gone.append(ticket)
        return gone

    def position(self, ticket: Ticket) -> int:
        """0 if ``ticket`` holds the resource, else how many live tickets are ahead.

        Raises
        ------
        QueueError
            If the ticket is no longer in the queue (removed by hand).
        """
        numbers = [t.number for t in self.tickets()]
        if ticket.number not in numbers:
            raise QueueError(f"{ticket.path}: the ticket was removed from the queue of "
                             f"{self.resource!r}")
        return numbers.index(ticket.number)

    def acquire(self, holder: ProcessId, run: str, *, poll: float = 0.2,
                on_wait: Callable[[int, Ticket | None], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> Ticket:
        """Queue up and block until this ticket holds the resource.

        Parameters
        ----------
        holder, run
            Who waits, for which run.
        poll : float
            Seconds between checks.
        on_wait : callable, optional
            ``on_wait(position, head)`` when the position changes (position 0:
            acquired; ``head`` is the ticket ahead that holds the resource).
        cancelled : callable, optional
            Polled while waiting; when it returns true the ticket is withdrawn
            and :class:`QueueError` raised.

        Returns
        -------
        Ticket
            Pass it to :meth:`release`.
        """
        ticket = self.enqueue(holder, run)
        seen = -1
        try:
            while True:
                self.reap()
                position = self.position(ticket)
                if position != seen:
                    seen = position
                    if on_wait is not None:
                        ahead = self.tickets()
                        on_wait(position, ahead[0] if position else None)
                if position == 0:
                    return ticket
                if cancelled is not None and cancelled():
                    raise QueueError(f"left the queue of {self.resource!r} at position "
                                     f"{position} (cancelled)")
                time.sleep(poll)
        except BaseException:
            self.release(ticket)
            raise

    def release(self, ticket: Ticket) -> None:
        """Give the resource (or the place in the queue) up."""
        with self._locked():
            ticket.path.unlink(missing_ok=True)


def list_queues(spool: str | os.PathLike | None = None) -> dict[str, list[Ticket]]:
    """Resource name -> its tickets in order, for every queue in the spool."""
    root = Path(spool if spool is not None else spool_dir())
    if not root.is_dir():
        return {}
    return {d.name: ResourceQueue(d.name, root).tickets() for d in sorted(root.iterdir())
            if d.is_dir() and _NAME.fullmatch(d.name)}


def describe(ticket: Ticket, position: int) -> dict[str, Any]:
    """One ticket as a plain mapping (``pep queue --json``)."""
    state = ticket.state()
    return {"resource": ticket.resource, "position": position, "ticket": ticket.number,
            "holder": ticket.holder.to_dict(), "run": ticket.run, "since": ticket.since,
            "state": ("holds" if position == 0 else "waiting") if state != "dead" else "stale",
            "process": state}
