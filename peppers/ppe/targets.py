"""Opening a stream's file outputs: resume the journaled ones, or create them afresh.

The one rule, for the thread executor (:meth:`Pipeline.run
<peppers.ppe.pipeline.Pipeline.run>`) and rank 0 of an MPI stream
(:mod:`peppers.ppe.mpi.stream`): the targets are reopened for writing only
if the tile journal holds finished tiles *and* every target file exists;
otherwise the journal is reset and every target is created (replacing what
was there). A reopened target must have the shape and dtype the stream
makes, or the error says which file to delete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Hashable, Mapping

from peppers.errors import ImageMismatchError
from peppers.image import ImageSpec
from peppers.io.raw import RawImage


def open_targets(targets: Mapping[Hashable, tuple[Path, ImageSpec]], journal: Any, *,
                 what: str = "the pipeline", hint: str = "delete it or its journal"
                 ) -> tuple[dict[Hashable, RawImage], bool]:
    """Open every target for writing; ``(sinks by key, resumed)``.

    Parameters
    ----------
    targets : mapping
        Key -> ``(path of the VRT, spec the stream makes)``.
    journal : TileJournal or None
        The stream's completion journal; None: always create.
    what, hint : str
        Who makes the images and how to get out of a mismatch (for the error).

    Raises
    ------
    ImageMismatchError
        A target to resume has another shape or dtype (names the file).
    """
    resume = journal is not None and bool(journal.done()) and all(
        Path(path).exists() for path, _ in targets.values())
    if journal is not None and not resume:
        journal.reset()
    sinks: dict[Hashable, RawImage] = {}
    try:
        for key, (path, spec) in targets.items():
            path = Path(path)
            if resume:
                sink = RawImage.open(path, "r+")
                sinks[key] = sink
                if sink.spec.shape != spec.shape or sink.spec.dtype != spec.dtype:
                    raise ImageMismatchError(
                        f"{path}: existing image is {sink.spec.shape} {sink.spec.dtype}, "
                        f"{what} makes {spec.shape} {spec.dtype}; {hint}")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                sinks[key] = RawImage.create(path, spec, overwrite=True)
    except BaseException:
        for sink in sinks.values():
            sink.close()
        raise
    return sinks, resume
