"""Where a run keeps its stored images, and the rename of old runs' headers.

An intermediate image ``NAME`` is stored as ISCE names its rasters: the
pixels in ``images/NAME.raw`` and the GDAL VRT header in
``images/NAME.raw.vrt`` (``docs/run-directory.md``). With that name,
MintPy's ``readfile.read("images/NAME.raw")`` finds the header by appending
``.vrt`` and reads the pixels (processor ``isce``, metadata through GDAL);
GDAL opens the header directly. Images a rule stores as GeoTIFF are
``images/NAME.tif``, products ``products/NAME.tif``.

Runs made before the rename hold ``images/NAME.vrt`` headers describing the
same ``images/NAME.raw``. :func:`migrate_legacy_headers` renames them (the
header text is unchanged: its source is ``NAME.raw`` relative to it, and
the rename keeps size and mtime, so the scheduler's recorded identities
still match, see :func:`same_image_path`); until then readers find the old
header through :func:`find_intermediate`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Suffix of an intermediate's header: ``NAME.raw.vrt`` describes ``NAME.raw``.
INTERMEDIATE_SUFFIX = ".raw.vrt"


def intermediate_path(image: str) -> str:
    """``images/NAME.raw.vrt``: the run-relative header of intermediate ``image``.

    >>> intermediate_path("coherence")
    'images/coherence.raw.vrt'
    """
    return f"images/{image}{INTERMEDIATE_SUFFIX}"


def legacy_intermediate_path(image: str) -> str:
    """``images/NAME.vrt``: where runs made before the ISCE naming kept the header."""
    return f"images/{image}.vrt"


def legacy_of(path: str) -> str | None:
    """The old name of an intermediate header path, or None when it has none.

    >>> legacy_of("images/coherence.raw.vrt")
    'images/coherence.vrt'
    >>> legacy_of("products/dem.tif") is None
    True
    """
    if path.endswith(INTERMEDIATE_SUFFIX):
        return path[: -len(INTERMEDIATE_SUFFIX)] + ".vrt"
    return None


def find_intermediate(path: Path) -> Path:
    """``path``, or its old-style header when only that exists (a run not yet renamed)."""
    legacy = legacy_of(str(path))
    if legacy is not None and not os.path.exists(path) and os.path.exists(legacy):
        return Path(legacy)
    return Path(path)


def same_image_path(now: str, recorded: str | None) -> bool:
    """Whether a recorded file path names the file at ``now`` (or its old header name)."""
    return recorded == now or (recorded is not None and recorded == legacy_of(now))


def migrate_legacy_headers(images: Path) -> list[tuple[Path, Path]]:
    """Rename old-style headers ``NAME.vrt`` of ``NAME.raw`` in ``images`` to ``NAME.raw.vrt``.

    Only a header whose raw file ``NAME.raw`` lies beside it (as the old
    runs wrote them) and whose new name is free is renamed; anything else
    (a user's own VRT, a mosaic) is left alone. The caller holds the run's
    make lock. Returns the ``(old, new)`` pairs renamed.
    """
    from peppers.errors import ImageError
    from peppers.io.vrt import parse_vrt

    renamed = []
    if not images.is_dir():
        return renamed
    for old in sorted(images.glob("*.vrt")):
        if old.name.startswith(".") or old.name.endswith(INTERMEDIATE_SUFFIX):
            continue
        new = old.with_name(old.name[: -len(".vrt")] + INTERMEDIATE_SUFFIX)
        if new.exists():
            continue
        try:
            source = Path(parse_vrt(old).source)
        except (ImageError, OSError):
            continue
        if os.path.abspath(source) != os.path.abspath(new.with_suffix("")):
            continue
        os.replace(old, new)
        renamed.append((old, new))
    if renamed:
        from peppers.io.atomic import fsync_dir

        fsync_dir(images)
    return renamed
