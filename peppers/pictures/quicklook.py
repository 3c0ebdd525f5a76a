"""Quicklooks: a small PNG of any image, coloured by what it shows.

:func:`quicklook` opens the image (:func:`peppers.io.source.open_source`),
reads it decimated in bounded memory (:mod:`.decimate`), colours it by kind
and lays it out with a title, colour bar and scale bar (:mod:`.figure`):

============  =====================================  ============================
kind          value shown                            colours
============  =====================================  ============================
phase         ``angle`` of the cell's complex mean   cyclic, -pi..pi; a complex
              (a real image: of ``exp(j*phase)``)    image is amplitude-modulated
                                                     (brightness from its dB,
                                                     2nd..98th percentile)
unwrapped     cell mean, continuous (unwrapping      dark-blue..yellow ramp,
              errors show as steps)                  1st..99th percentile; or
                                                     re-wrapped at ``rewrap``
                                                     radians per colour cycle
amplitude     ``10 log10`` of the cell's mean        grey, 2nd..98th percentile
              power (``|z|^2`` of complex pixels,
              ``a^2`` of real amplitudes); real
              images with negative values: linear
coherence     cell mean                              grey, 0..1
height        cell mean                              terrain ramp x hillshade,
                                                     1st..99th percentile
value         cell mean (latitude, longitude,        dark-blue..yellow ramp,
              angles, displacement)                  1st..99th percentile
labels        nearest pixel (connected components)   one colour per label, 0
                                                     transparent
mask          nearest pixel                          masked (non-zero) dark red,
                                                     the rest transparent
============  =====================================  ============================

NaN and no-data pixels are transparent. Averages are over the finite pixels
of each cell, so a cell is transparent only if all its pixels are missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peppers.errors import ImageError
from peppers.pictures.colormaps import GREY, LABEL_COLOURS, PHASE, RAMP, TERRAIN, \
    shaded_relief
from peppers.pictures.decimate import DEFAULT_BUDGET, FULL_READ_LIMIT, choose_steps, \
    read_decimated
from peppers.pictures.figure import ColourBar, compose
from peppers.pictures.locate import KINDS, ground_spacing, guess_kind, image_name, \
    is_georeferenced

PI_TICKS = ((-np.pi, "-pi"), (0.0, "0"), (np.pi, "pi"))


@dataclass(frozen=True)
class Quicklook:
    """What :func:`quicklook` wrote.

    Attributes
    ----------
    path : Path
        The PNG.
    kind : str
        The kind drawn.
    source_shape, shape : tuple of int
        Image and picture shapes.
    steps : tuple of int
        Input pixels per picture cell ``(rows, cols)``.
    zoom : int
        Picture pixels per cell, each way (small images are enlarged).
    metres_per_pixel : float or None
        Ground size of a picture column (the scale bar), if known.
    """

    path: Path
    kind: str
    source_shape: tuple[int, int]
    shape: tuple[int, int]
    steps: tuple[int, int]
    zoom: int
    metres_per_pixel: float | None


def _phasor(block: np.ndarray) -> np.ndarray:
    return block if np.iscomplexobj(block) else np.exp(1j * block.astype(np.float64))


def _intensity(block: np.ndarray) -> np.ndarray:
    return np.abs(block).astype(np.float64) ** 2


def _signed_intensity(block: np.ndarray) -> np.ndarray:
    """Intensity that keeps the sign, so negative values are detectable after the mean."""
    x = block.astype(np.float64)
    return np.sign(x) * x * x


def _real(block: np.ndarray) -> np.ndarray:
    return np.real(block).astype(np.float64)


TRANSFORMS = {"phase": _phasor, "amplitude": _intensity, "coherence": _real, "height": _real,
              "unwrapped": _real, "value": _real, "labels": _real, "mask": _real}
#: Kinds whose cells take the nearest pixel: an average of labels is no label.
NEAREST = ("labels", "mask")


def power_db(power: np.ndarray) -> np.ndarray:
    """``10 log10(power)``; NaN where the power is not positive.

    Examples
    --------
    >>> power_db(np.array([1.0, 100.0, 0.0])).tolist()
    [0.0, 20.0, nan]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = 10.0 * np.log10(np.asarray(power, dtype=np.float64))
    shown[~np.isfinite(shown)] = np.nan
    return shown


def _percentiles(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def render(values: np.ndarray, kind: str, *, complex_source: bool = True,
           spacing: tuple[float, float] | None = None,
           rewrap: float | None = None) -> tuple[np.ndarray, ColourBar, str]:
    """Colour a decimated image.

    Parameters
    ----------
    values : ndarray
        From :func:`~.decimate.read_decimated` with ``TRANSFORMS[kind]``:
        complex means for phase, mean *power* for amplitude (signed
        ``x |x|`` for real images), plain means otherwise.
    kind : str
        One of ``KINDS``.
    complex_source : bool
        Whether the image read was complex (phase: amplitude modulation).
    spacing : tuple of float, optional
        Ground size ``(dy, dx)`` of a picture pixel (hillshade slopes); the
        shading uses unit pixels when unknown.
    rewrap : float, optional
        Unwrapped phase only: draw it wrapped again, ``rewrap`` radians per
        colour cycle (``2 pi`` shows the fringes; larger values fewer).

    Returns
    -------
    rgba : ndarray of uint8, shape (M, N, 4)
    bar : ColourBar
    stretch : str
        One line describing the mapping (for the subtitle).
    """
    if kind == "phase":
        shown = np.angle(values)
        shown[~np.isfinite(values)] = np.nan
        bar = ColourBar(PHASE, -np.pi, np.pi, "rad", PI_TICKS)
        rgb, stretch = PHASE.map(shown, -np.pi, np.pi), "phase -pi..pi"
        magnitude = np.abs(values)
        db = power_db(magnitude ** 2) if complex_source else np.full(shown.shape, np.nan)
        if np.isfinite(db).any() and np.nanmax(db) > np.nanmin(db):   # a constant one: no change
            lo, hi = _percentiles(db, 2, 98)
            light = 0.25 + 0.75 * np.clip((np.nan_to_num(db, nan=lo) - lo) / (hi - lo), 0, 1)
            rgb = np.rint(rgb * light[..., None]).astype(np.uint8)
            stretch += f", brightness {lo:.3g}..{hi:.3g} dB (2-98%)"
    elif kind == "unwrapped":
        shown = np.real(values).astype(np.float64)
        if rewrap:
            bar = ColourBar(PHASE, 0.0, float(rewrap), "rad")
            rgb = PHASE.map(shown, 0.0, float(rewrap))
            stretch = f"unwrapped phase re-wrapped, {rewrap:.3g} rad per colour cycle"
        else:
            lo, hi = _percentiles(shown, 1, 99)
            bar = ColourBar(RAMP, lo, hi, "rad")
            rgb, stretch = RAMP.map(shown, lo, hi), f"unwrapped phase {lo:.3g}..{hi:.3g} rad (1-99%)"
    elif kind == "amplitude":
        finite = values[np.isfinite(values)]
        if complex_source or finite.size == 0 or finite.min() >= 0:
            shown, unit, what = power_db(values), "dB", "power dB"
        else:
            shown, unit, what = np.sign(values) * np.sqrt(np.abs(values)), "", "value"
        lo, hi = _percentiles(shown, 2, 98)
        bar = ColourBar(GREY, lo, hi, unit)
        rgb, stretch = GREY.map(shown, lo, hi), f"{what} {lo:.3g}..{hi:.3g} (2-98%)"
    elif kind == "coherence":
        shown = values
        bar = ColourBar(GREY, 0.0, 1.0, "")
        rgb, stretch = GREY.map(shown, 0.0, 1.0), "coherence 0..1"
    elif kind == "height":
        shown = values
        lo, hi = _percentiles(shown, 1, 99)
        bar = ColourBar(TERRAIN, lo, hi, "m")
        rgb = shaded_relief(shown, spacing or (1.0, 1.0), lo, hi)
        stretch = f"height {lo:.4g}..{hi:.4g} m (1-99%), hillshade from NW"
    elif kind == "value":
        shown = np.real(values).astype(np.float64)
        lo, hi = _percentiles(shown, 1, 99)
        bar = ColourBar(RAMP, lo, hi, "")
        rgb, stretch = RAMP.map(shown, lo, hi), f"value {lo:.4g}..{hi:.4g} (1-99%)"
    elif kind == "labels":
        labels = np.nan_to_num(np.real(values), nan=0.0).astype(np.int64)
        shown = np.where(labels > 0, labels, np.nan)
        rgb = LABEL_COLOURS[np.mod(labels - 1, len(LABEL_COLOURS))]
        count = int(np.unique(labels[labels > 0]).size)
        bar, stretch = None, f"{count} label(s), one colour each, 0 transparent"
    elif kind == "mask":
        masked = np.nan_to_num(np.real(values), nan=0.0) != 0
        shown = np.where(masked, 1.0, np.nan)
        rgb = np.broadcast_to(np.array([150, 20, 20], np.uint8), masked.shape + (3,)).copy()
        bar, stretch = None, f"masked {100 * masked.mean():.1f} % (dark red)"
    else:
        raise ValueError(f"unknown picture kind {kind!r}; use one of {KINDS}")
    alpha = np.where(np.isfinite(shown), 255, 0).astype(np.uint8)
    return np.dstack([rgb, alpha]), bar, stretch


def geographic_extent(spec: Any) -> tuple[float, float, float, float] | None:
    """``(west, east, south, north)`` of a north-up image in geographic degrees, else None."""
    geo = spec.geo or {}
    crs, transform = geo.get("crs"), geo.get("transform")
    if crs is None or transform is None:
        return None
    from rasterio.crs import CRS

    try:
        if not CRS.from_user_input(crs).is_geographic:
            return None
    except Exception:  # noqa: BLE001 - an unreadable CRS: no ticks
        return None
    x0, px, rx, y0, ry, py = (float(v) for v in transform)
    if rx or ry or px <= 0 or py >= 0:
        return None
    rows, cols = spec.shape
    return x0, x0 + cols * px, y0 + rows * py, y0


def quicklook(image: str | os.PathLike | Any, output: str | os.PathLike, *, kind: str = "auto",
              title: str | None = None, max_size: int = 800, min_size: int = 320, db: Any = None,
              method: str = "auto", budget: int = DEFAULT_BUDGET,
              full_read_limit: int = FULL_READ_LIMIT, rewrap: float | None = None) -> Quicklook:
    """Write a quicklook PNG of ``image``.

    Parameters
    ----------
    image : path-like or ImageSource
        A raster path (raw VRT or anything GDAL opens) or an open source.
    output : path-like
        The PNG to write (atomically: temporary file, fsync, rename).
    kind : {"auto", "phase", "unwrapped", "amplitude", "coherence", "height", "value", \
"labels", "mask"}
        What to draw; ``auto`` guesses from the name and dtype.
    title : str, optional
        Default: the image name.
    max_size : int
        Largest side of the picture before zoom, pixels.
    min_size : int
        Pictures smaller than this are enlarged by an integer factor.
    db : RunDatabase, optional
        The run, for the pixel spacing of radar-geometry images.
    method, budget, full_read_limit
        Decimated reading, see :func:`~.decimate.read_decimated`.
    rewrap : float, optional
        Unwrapped phase: radians per colour cycle of a re-wrapped view.

    Returns
    -------
    Quicklook

    Raises
    ------
    ImageError
        If the image cannot be read (names it) or has no pixels.
    ValueError
        For an unknown kind.
    """
    from peppers.io.atomic import atomic_path
    from peppers.io.source import open_source

    if kind != "auto" and kind not in KINDS:
        raise ValueError(f"unknown picture kind {kind!r}; use auto or one of {KINDS}")
    owned = isinstance(image, (str, os.PathLike))
    source = open_source(image) if owned else image
    name = image_name(image) if owned else getattr(source, "name", "image")
    try:
        spec = source.spec
        if spec.shape[0] < 1 or spec.shape[1] < 1:
            raise ImageError(f"{name}: image of shape {spec.shape} has no pixels")
        kind = guess_kind(name, spec) if kind == "auto" else kind
        spacing = ground_spacing(spec, db)
        steps = choose_steps(spec.shape, max_size,
                             None if is_georeferenced(spec) else spacing)
        transform = TRANSFORMS[kind]
        if kind == "amplitude" and spec.dtype.kind != "c":
            transform = _signed_intensity
        if kind in NEAREST:
            method = "nearest"
        values = read_decimated(source, steps, method=method, transform=transform,
                                budget=budget, full_read_limit=full_read_limit)
    finally:
        if owned:
            source.close()
    picture_spacing = None if spacing is None else (spacing[0] * steps[0], spacing[1] * steps[1])
    rgba, bar, stretch = render(values, kind, complex_source=spec.dtype.kind == "c",
                                spacing=picture_spacing, rewrap=rewrap)
    zoom = max(1, min_size // max(rgba.shape[:2]))
    if zoom > 1:  # small images are enlarged by an integer factor (nearest)
        rgba = np.repeat(np.repeat(rgba, zoom, axis=0), zoom, axis=1)
    parts = [f"{spec.shape[0]} x {spec.shape[1]} {spec.dtype}"]
    if steps != (1, 1):
        parts.append(f"1 px = {steps[0]} x {steps[1]} px")
    if zoom > 1:
        parts.append(f"enlarged x{zoom}")
    parts.append(stretch if picture_spacing else f"{stretch}, scale unknown")
    subtitle = "; ".join(parts)
    metres = None if picture_spacing is None else picture_spacing[1] / zoom
    canvas = compose(rgba, title or name, subtitle=subtitle, bar=bar, metres_per_pixel=metres,
                     extent=geographic_extent(spec))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        canvas.save(tmp, format="PNG", optimize=True)
    return Quicklook(output, kind, spec.shape, rgba.shape[:2], steps, zoom, metres)
