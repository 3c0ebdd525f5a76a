"""The exception hierarchy of peppers.

One root, :class:`PeppersError`; every subclass also inherits the builtin
exception a caller would naturally catch, so ``except ValueError`` and
``except PeppersError`` both work (the pattern of ``rasterio.errors``).

Messages say what is wrong, the values seen, and how to fix it. The command
line prints ``str(error)`` as one line and exits non-zero.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator


class PeppersError(Exception):
    """Root of every error peppers raises on purpose."""


class HKVError(PeppersError, OSError):
    """The run database cannot be read or written."""

    def __str__(self) -> str:  # OSError's str() would show the errno tuple
        return " ".join(str(a) for a in self.args)


class KeyPathError(PeppersError, KeyError):
    """A key path is malformed or names nothing."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return " ".join(str(a) for a in self.args)


class RecordError(HKVError, ValueError):
    """A record file does not parse, or holds a value of the wrong type."""


class LockError(HKVError):
    """A lock could not be taken in time."""


class SceneError(PeppersError, ValueError):
    """An input scene (``peppers-slc/1``) breaks the contract.

    Parameters
    ----------
    file : str
        The metadata or image file at fault.
    field : str
        The dotted field name at fault, e.g. ``orbit.state_vectors[3].utc``.
    problem : str
        What is wrong and, where it helps, the fix.
    """

    def __init__(self, file: str, field: str, problem: str):
        self.file, self.field, self.problem = str(file), field, problem
        super().__init__(f"{file}: {field}: {problem}")


class RuleError(PeppersError, ValueError):
    """A rule file is malformed, or the rules cannot be scheduled."""


class OperatorError(PeppersError, RuntimeError):
    """An operator failed; the message names the operator and the tile."""


class ParameterError(OperatorError, ValueError):
    """An operator parameter breaks its declared bounds (names operator, parameter, key)."""


class ImageError(PeppersError, OSError):
    """An image on disk is missing, truncated, or not what was expected."""

    def __str__(self) -> str:
        return " ".join(str(a) for a in self.args)


class GeometryError(PeppersError, ValueError):
    """A geometry request cannot be met: a time outside the orbit's span, a
    slant range that reaches no surface, an iteration that did not converge."""


class ImageMismatchError(ImageError, ValueError):
    """An array or region does not fit an image: shape, dtype or bounds."""


class JournalError(PeppersError, RuntimeError):
    """A tile journal refuses an operation (e.g. completing with tiles missing)."""


class SimulationError(PeppersError, ValueError):
    """A scene simulation cannot be made as asked: an option out of range, a
    geometry without a solution (layover, a footprint off the DEM)."""


class StreamSpecError(PeppersError, ValueError):
    """A stream spec (``RUN/.peppers/streams/NAME.yaml``) is malformed or cannot be built.

    Parameters
    ----------
    file : str
        The spec file (or ``stream 'NAME'`` for a spec built in memory).
    field : str
        The field at fault, e.g. ``nodes[2].operator``.
    problem : str
        What is wrong and, where it helps, the fix.
    """

    def __init__(self, file: str, field: str, problem: str):
        self.file, self.field, self.problem = str(file), field, problem
        super().__init__(f"{file}: {field}: {problem}")


class MPIRunError(PeppersError, RuntimeError):
    """A stream run across MPI ranks failed; the message names the rank(s) and tile."""


class SiteConfigError(PeppersError, ValueError):
    """The site configuration file (``$PEPPERS_SITE``) cannot be read; names the file."""


class RunAborted(PeppersError, RuntimeError):
    """A run's controller aborted it: finished tiles are journaled, a rerun resumes."""


class MonitorError(PeppersError, OSError):
    """The run monitor cannot be reached, refused a request, or broke its protocol."""

    def __str__(self) -> str:
        return " ".join(str(a) for a in self.args)


class QueueError(PeppersError, OSError):
    """A resource queue (spool directory) cannot be used."""

    def __str__(self) -> str:
        return " ".join(str(a) for a in self.args)


class MakeError(PeppersError, RuntimeError):
    """``pep run make`` stopped: a step failed; the message says what finished,
    what failed and what never started (completed rules stay recorded)."""


@contextlib.contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Give an ``OSError`` raised inside that names no file the name ``path``.

    ``os.write`` and ``os.fsync`` on a descriptor fail without a file name
    (``[Errno 28] No space left on device``); under this block the error
    reads ``[Errno 28] No space left on device: 'PATH'``, so a full disk
    is a one-line error naming the file. Errors peppers raised on purpose
    pass unchanged.
    """
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None or isinstance(error, PeppersError):
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error
