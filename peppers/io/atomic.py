"""Atomic file replacement: the one way peppers puts a finished file in place.

A file that readers may see is never written in place. It is written under a
hidden temporary name in the same directory (so the final ``rename`` stays on
one file system and is atomic), flushed to disk with ``fsync``, renamed over
the final name, and then the directory itself is ``fsync``-ed so the rename
survives a power cut. A reader therefore sees either the old file or the
complete new one, never a half-written file; a writer that fails midway
leaves only its temporary file, which :func:`atomic_path` removes.

Two entry points:

:func:`atomic_write_bytes`
    Small files written in one go (VRT headers, journal headers, markers).
:func:`atomic_path`
    A context manager that hands out the temporary path for writers that
    need a file name (GDAL/rasterio), and commits it on a clean exit.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Iterator

from peppers.errors import naming


def temporary_name(path: str | os.PathLike) -> Path:
    """A unique hidden name beside ``path`` for its temporary file.

    Parameters
    ----------
    path : path-like
        The final path.

    Returns
    -------
    Path
        ``DIR/.NAME.tmp-PID-RANDOM`` (hidden, so globs like ``NAME.*`` that
        look for finished files never match it).
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


#: A hidden temporary of any writer in peppers: ``.NAME.tmp-PID`` followed by
#: the end, ``-RANDOM`` or a suffix (``.tif``); the group is the writer's pid.
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)(?:$|[-.])")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the hidden temporaries that dead writers left in ``directory``.

    A writer killed between staging and commit (SIGKILL, a power cut) leaves
    its ``.NAME.tmp-PID...`` file or folder behind; nothing reads it, but it
    would accumulate run after run. An entry is removed only when no process
    with its pid lives on this host, so a writer still at work keeps its
    temporary.

    Parameters
    ----------
    directory : path-like
        The folder to sweep (not recursive); a missing folder is fine.

    Returns
    -------
    list of Path
        The entries removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / f".dem.tif.tmp-{os.getpid()}-ab12").write_bytes(b"")
    >>> sweep_temporaries(folder)   # its writer (this process) is alive
    []
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or _alive(int(match.group(1))):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(path)
    return removed


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a closed file's data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | os.PathLike) -> None:
    """Flush a directory entry table, making renames and creations durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Fsync ``tmp``, rename it to ``path`` atomically, fsync the directory."""
    with naming(path):
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(Path(path).resolve().parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``.

    Parameters
    ----------
    path : path-like
        Final file name; its directory must exist.
    data : bytes
        The whole new content.

    Raises
    ------
    OSError
        If the directory is not writable or the disk is full (naming
        ``path``); no temporary file is left behind.
    """
    tmp = temporary_name(path)
    try:
        with naming(path):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(Path(path).resolve().parent)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it becomes ``path``.

    Parameters
    ----------
    path : path-like
        Final file name.

    Yields
    ------
    Path
        The temporary file name to create and fill (it does not exist yet).
        It must be closed before the ``with`` block ends.

    Notes
    -----
    If the block raises (or the process is interrupted with
    ``KeyboardInterrupt``), the temporary file is removed and nothing
    appears at ``path``; an existing file at ``path`` is left untouched.
    """
    tmp = temporary_name(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
