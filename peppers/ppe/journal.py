"""The tile journal: which output tiles of a stream run are finished, durably.

A killed stream (SIGKILL, node failure, ``pep monitor abort``) resumes by
recomputing only the tiles its journal does not list. The journal must
therefore survive the kill intact, never claim a tile that is not on disk,
never carry claims over to a different tile plan, and let many MPI ranks
record tiles at once without contending.

Files (``PATH`` is the journal path, e.g. ``RUN/streams/s1.journal``)
-----------------------------------------------------------------------
``PATH``
    The header, written atomically: ``peppers-journal/1``, then
    ``signature SIG`` and ``n_tiles N``. ``SIG`` is the caller's hash of the
    tile plan and operator parameters.
``PATH.<writer>``
    One append-only file per writer (``"0"`` for a thread run, the rank for
    MPI), so writers never share a file. First line: the stamp
    ``peppers-journal/1 SIG N``; then one line ``done <index>`` per finished
    tile, each appended with a single ``write`` on an ``O_APPEND``
    descriptor and, by default, ``fdatasync``-ed at once (``sync_each=False``
    batches: call :meth:`TileJournal.sync`).
``PATH.complete``
    The completion marker ``complete SIG N``, written atomically by
    :meth:`TileJournal.mark_complete` only when every tile is done.

Rules
-----
- **Ordering contract.** A tile's pixels are written and flushed to the
  output image (``RawImage.flush``, i.e. ``fdatasync``) *before* its
  ``done`` line is appended. So a ``done`` line on disk implies the tile's
  data is on disk; the converse need not hold (a tile written but not yet
  journalled is simply recomputed).
- **Plan changes never resume into stale tiles.** When the stored header's
  signature or tile count differs from the caller's, the old journal is
  discarded (marker removed, writer files of other stamps deleted) before
  anything is read; writer files are also checked against the stamp one by
  one, so a stale file is never counted even if it appears concurrently.
- **Torn lines.** Only complete (newline-terminated), well-formed lines
  count; a partial last line left by a kill is ignored by :meth:`done` and
  cut off when its writer reopens the file, before appending anything.
- **Union.** :meth:`done` is the union over all writer files with the
  current stamp, so a run resumed with a different number of MPI ranks
  keeps every finished tile.
- **Complete only when complete.** :meth:`mark_complete` raises
  :class:`~peppers.errors.JournalError` unless all ``n_tiles`` are done.

:meth:`reset` wipes everything; call it from one process only, before the
writers start (e.g. for ``--force``).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

from peppers.errors import JournalError, naming
from peppers.io.atomic import atomic_write_bytes, fsync_dir

MAGIC = "peppers-journal/1"
_WRITER = re.compile(r"[A-Za-z0-9_-]+")
_DONE = re.compile(rb"done (0|[1-9][0-9]*)")
_RESERVED = {"complete"}


class TileJournal:
    """The per-tile completion journal of one stream run (see the module docs).

    Parameters
    ----------
    path : path-like
        The journal header file; writer files and the marker sit beside it.
    signature : str
        Hash of the tile plan and operator parameters; one token, no spaces.
    n_tiles : int
        Number of tiles in the plan; indices are ``0 .. n_tiles - 1``.
    writer : str
        This writer's name (letters, digits, ``_``, ``-``); unique among the
        processes writing the journal at the same time (the MPI rank).
    sync_each : bool
        ``fdatasync`` after every :meth:`mark_done` (default); otherwise the
        caller batches with :meth:`sync`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s1.journal"
    >>> with TileJournal(path, signature="abc123", n_tiles=3) as j:
    ...     j.mark_done(0); j.mark_done(2)
    ...     sorted(j.done()), j.remaining()
    ([0, 2], [1])
    """

    def __init__(self, path: str | os.PathLike, *, signature: str, n_tiles: int,
                 writer: str = "0", sync_each: bool = True) -> None:
        self.path = Path(path)
        if not signature or len(signature.split()) != 1 or signature != signature.strip():
            raise ValueError(f"{self.path}: journal signature must be one token without "
                             f"spaces, got {signature!r}")
        if int(n_tiles) != n_tiles or n_tiles < 0:
            raise ValueError(f"{self.path}: n_tiles must be an integer >= 0, got {n_tiles!r}")
        writer = str(writer)
        if not _WRITER.fullmatch(writer) or writer in _RESERVED:
            raise ValueError(f"{self.path}: writer name {writer!r} must be letters, digits, "
                             f"'_' or '-', and not {sorted(_RESERVED)}")
        self.signature, self.n_tiles, self.writer = signature, int(n_tiles), writer
        self.sync_each = sync_each
        self._stamp = f"{MAGIC} {signature} {self.n_tiles}".encode()
        self._lock = threading.Lock()
        self._mine: set[int] = set()
        self._fd: int | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._read_header() != (signature, self.n_tiles):
            self._discard(keep_current=True)
            self._write_header()
        self._open_own()

    # -- file names -------------------------------------------------------------
    @property
    def marker_path(self) -> Path:
        """The completion marker, ``PATH.complete``."""
        return self.path.with_name(self.path.name + ".complete")

    @property
    def writer_path(self) -> Path:
        """This writer's file, ``PATH.<writer>``."""
        return self.path.with_name(f"{self.path.name}.{self.writer}")

    def writer_paths(self) -> list[Path]:
        """Every writer file beside the header (of any stamp), sorted."""
        prefix = self.path.name + "."
        try:
            names = os.listdir(self.path.parent)
        except FileNotFoundError:
            return []
        return sorted(self.path.with_name(n) for n in names
                      if n.startswith(prefix) and _WRITER.fullmatch(n[len(prefix):])
                      and n[len(prefix):] not in _RESERVED)

    # -- reading ----------------------------------------------------------------
    def _read_header(self) -> tuple[str, int] | None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
        if not lines or lines[0] != MAGIC or "signature" not in fields:
            return None
        try:
            return fields["signature"], int(fields.get("n_tiles", ""))
        except ValueError:
            return None

    def _parse(self, data: bytes) -> tuple[set[int], int] | None:
        """Tiles in one writer file and the length of its complete part; None if stale."""
        end = data.rfind(b"\n") + 1          # bytes after the last newline are torn
        lines = data[:end].split(b"\n")[:-1]
        if not lines or lines[0] != self._stamp:
            return None
        tiles = set()
        for line in lines[1:]:
            match = _DONE.fullmatch(line)
            if match and int(match[1]) < self.n_tiles:
                tiles.add(int(match[1]))
        return tiles, end

    def done(self) -> set[int]:
        """Indices of finished tiles: the union over every writer of this plan."""
        result: set[int] = set()
        for path in self.writer_paths():
            with contextlib.suppress(FileNotFoundError):
                parsed = self._parse(path.read_bytes())
                if parsed is not None:
                    result |= parsed[0]
        with self._lock:
            return result | self._mine

    def remaining(self) -> list[int]:
        """Indices of tiles not yet done, ascending."""
        done = self.done()
        return [i for i in range(self.n_tiles) if i not in done]

    def is_complete(self) -> bool:
        """True if the completion marker of this plan exists."""
        try:
            return self.marker_path.read_bytes() == self._marker_text()
        except FileNotFoundError:
            return False

    # -- writing ----------------------------------------------------------------
    def mark_done(self, index: int) -> None:
        """Record tile ``index`` as finished (thread-safe).

        Call only after the tile's data is flushed to the output image(s).

        Raises
        ------
        IndexError
            If ``index`` is not in ``0 .. n_tiles - 1``.
        JournalError
            If the journal is closed or the line cannot be appended.
        """
        if not 0 <= index < self.n_tiles:
            raise IndexError(f"{self.path}: tile {index} outside 0..{self.n_tiles - 1}")
        line = f"done {int(index)}\n".encode()
        with self._lock:
            fd = self._own_fd()
            with naming(self.writer_path):
                if os.write(fd, line) != len(line):
                    raise JournalError(f"{self.writer_path}: short write while marking tile "
                                       f"{index}")
                if self.sync_each:
                    os.fdatasync(fd)
            self._mine.add(int(index))

    def sync(self) -> None:
        """Make every ``done`` line so far durable (for ``sync_each=False``)."""
        with self._lock, naming(self.writer_path):
            os.fdatasync(self._own_fd())

    def mark_complete(self) -> None:
        """Write the completion marker atomically.

        Raises
        ------
        JournalError
            If any tile is not done; the message counts and lists the first
            missing tiles.
        """
        missing = self.remaining()
        if missing:
            shown = ", ".join(str(i) for i in missing[:8]) + (", ..." if len(missing) > 8 else "")
            raise JournalError(f"{self.path}: cannot mark complete: {len(missing)} of "
                               f"{self.n_tiles} tiles not done (tiles {shown})")
        self.sync()
        atomic_write_bytes(self.marker_path, self._marker_text())

    def reset(self) -> None:
        """Forget every tile and the completion marker (this plan's too)."""
        with self._lock:
            self._discard(keep_current=False)
            self._write_header()
            self._mine.clear()
            self._close_own()
        self._open_own()

    def close(self) -> None:
        """Close this writer's file (idempotent); marks already written stay."""
        with self._lock:
            self._close_own()

    def __enter__(self) -> "TileJournal":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"TileJournal({str(self.path)!r}, signature={self.signature!r}, "
                f"n_tiles={self.n_tiles}, writer={self.writer!r})")

    # -- internals --------------------------------------------------------------
    def _marker_text(self) -> bytes:
        return f"complete {self.signature} {self.n_tiles}\n".encode()

    def _write_header(self) -> None:
        text = f"{MAGIC}\nsignature {self.signature}\nn_tiles {self.n_tiles}\n"
        atomic_write_bytes(self.path, text.encode())

    def _discard(self, *, keep_current: bool) -> None:
        """Remove the marker and writer files (only stale ones if ``keep_current``)."""
        if not (keep_current and self.is_complete()):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.marker_path)
        for path in self.writer_paths():
            if keep_current:
                with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
                    if f.readline().rstrip(b"\n") == self._stamp:
                        continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        fsync_dir(self.path.parent)

    def _open_own(self) -> None:
        """Open this writer's file for appending, cutting a torn last line."""
        path = self.writer_path
        try:
            parsed = self._parse(path.read_bytes())
        except FileNotFoundError:
            parsed = None
        if parsed is None:
            atomic_write_bytes(path, self._stamp + b"\n")
            parsed = (set(), len(self._stamp) + 1)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
        if os.fstat(fd).st_size != parsed[1]:
            os.ftruncate(fd, parsed[1])
            os.fsync(fd)
        with self._lock:
            self._mine = set(parsed[0])
            self._fd = fd

    def _own_fd(self) -> int:
        if self._fd is None:
            raise JournalError(f"{self.path}: journal is closed")
        return self._fd

    def _close_own(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
