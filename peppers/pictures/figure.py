"""Laying out a quicklook: title, picture, colour bar and scale bar on one canvas.

::

    +--------------------------------------+
    | title                                |
    | subtitle (shape, steps, kind)        |
    | +----------------------------------+ |
    | |          the picture             | |
    | |   (RGBA: no-data transparent)    | |
    | +----------------------------------+ |
    | [colour bar]            |----| 2 km  |
    |  vmin   mid   vmax unit              |
    +--------------------------------------+

On a north-up geographic map (``extent`` given) the picture gets latitude
ticks on its left edge, longitude ticks under it (at 1, 2 or 5 x 10^k
degrees, at most about one label per 70 pixels) and a north arrow in its
top-right corner. Colour-bar labels never overlap: the middle one is
dropped when the ends leave it no room.

The canvas is white; picture pixels with alpha 0 stay transparent in the
PNG, so no-data shows as whatever the viewer puts behind it. Text uses
Pillow's bundled font (``ImageFont.load_default``), so nothing depends on
the fonts of the machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from peppers.pictures.colormaps import Colormap

MARGIN = 10
BAR_HEIGHT = 14
_FONT_CACHE: dict[int, object] = {}


@dataclass(frozen=True)
class ColourBar:
    """What the colour bar shows.

    Parameters
    ----------
    colormap : Colormap
    vmin, vmax : float
        The values at the ends of the bar.
    unit : str
        Printed after the labels (``rad``, ``dB``, ``m``, or empty).
    ticks : tuple of (float, str)
        Labelled positions; default the ends and the middle.
    """

    colormap: Colormap
    vmin: float
    vmax: float
    unit: str = ""
    ticks: tuple[tuple[float, str], ...] = field(default=())

    def labelled(self) -> tuple[tuple[float, str], ...]:
        """The ticks, or ends and middle formatted to a sensible precision."""
        if self.ticks:
            return self.ticks
        values = (self.vmin, (self.vmin + self.vmax) / 2, self.vmax)
        span = abs(self.vmax - self.vmin) or 1.0
        digits = max(0, 2 - int(math.floor(math.log10(span))))
        return tuple((v, f"{v:.{digits}f}") for v in values)


def font(size: int = 12):
    """Pillow's bundled font at ``size`` points (bitmap font without FreeType)."""
    from PIL import ImageFont

    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow built without FreeType
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``metres``.

    Examples
    --------
    >>> nice_length(730.0), nice_length(2400.0), nice_length(0.9)
    (500.0, 2000.0, 0.5)
    """
    if metres <= 0 or not math.isfinite(metres):
        raise ValueError(f"a scale bar needs a positive length, got {metres}")
    power = 10.0 ** math.floor(math.log10(metres))
    for factor in (5.0, 2.0, 1.0):
        if factor * power <= metres:
            return factor * power
    return power  # pragma: no cover - factor 1 always fits


def length_text(metres: float) -> str:
    """``500 m``, ``2 km``, ``0.5 m``."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def _text_width(draw, text: str, typeface) -> int:
    box = draw.textbbox((0, 0), text, font=typeface)
    return box[2] - box[0]


def _draw_colour_bar(draw, canvas, bar: ColourBar, x: int, y: int, width: int) -> None:
    from PIL import Image

    t = np.linspace(bar.vmin, bar.vmax, width)
    if bar.colormap.cyclic:  # include the end colour: -pi and pi are the same
        t = np.linspace(bar.vmin, bar.vmax, width, endpoint=False)
    strip = np.repeat(bar.colormap.map(t, bar.vmin, bar.vmax)[None], BAR_HEIGHT, axis=0)
    canvas.paste(Image.fromarray(strip, "RGB"), (x, y))
    draw.rectangle((x - 1, y - 1, x + width, y + BAR_HEIGHT), outline=(60, 60, 60))
    typeface = font(11)
    span = (bar.vmax - bar.vmin) or 1.0
    placed: list[tuple[int, int]] = []
    labels = list(bar.labelled())
    # the ends first, then the inner labels where they fit
    order = sorted(range(len(labels)), key=lambda i: (0 < i < len(labels) - 1, i))
    for i in order:
        value, text = labels[i]
        px = x + int(round((value - bar.vmin) / span * (width - 1)))
        tw = _text_width(draw, text, typeface)
        left = min(max(x, px - tw // 2), x + width - tw)
        if any(left < b + 4 and left + tw + 4 > a for a, b in placed):
            continue
        placed.append((left, left + tw))
        draw.line((px, y + BAR_HEIGHT, px, y + BAR_HEIGHT + 3), fill=(60, 60, 60))
        draw.text((left, y + BAR_HEIGHT + 4), text, fill=(0, 0, 0), font=typeface)
    if bar.unit:
        draw.text((x + width + 6, y), bar.unit, fill=(0, 0, 0), font=typeface)


def _draw_scale_bar(draw, metres_per_pixel: float, right: int, y: int, limit: int) -> None:
    length = nice_length(limit * metres_per_pixel)
    pixels = max(1, int(round(length / metres_per_pixel)))
    left = right - pixels
    ink = (0, 0, 0)
    draw.rectangle((left, y + 4, right, y + 8), fill=ink)
    draw.line((left, y, left, y + 12), fill=ink)
    draw.line((right, y, right, y + 12), fill=ink)
    text = length_text(length)
    typeface = font(11)
    tw = _text_width(draw, text, typeface)
    draw.text((left + (pixels - tw) // 2, y + 14), text, fill=ink, font=typeface)


def degree_ticks(low: float, high: float, pixels: int, spacing: int = 70) -> list[float]:
    """Tick values between ``low`` and ``high`` at 1, 2 or 5 x 10^k, about ``spacing`` px apart.

    Examples
    --------
    >>> degree_ticks(36.4924, 36.5075, 256)
    [36.496, 36.5, 36.504]
    """
    span = high - low
    if not (span > 0 and pixels > 0):
        return []
    step = nice_length(max(span * spacing / pixels, 1e-9))
    if span / step > max(2, pixels // spacing):
        step *= 2
    first = math.ceil(low / step) * step
    ticks, value = [], first
    while value <= high + 1e-12:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _degrees(value: float, step: float, hemispheres: str) -> str:
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"{abs(value):.{digits}f}°{hemispheres[0] if value >= 0 else hemispheres[1]}"


def _draw_geo_ticks(draw, extent: tuple[float, float, float, float], left: int, top: int,
                    width: int, height: int) -> None:
    """Latitude ticks left of the picture, longitude under it, a north arrow inside."""
    west, east, south, north = extent
    ink, typeface = (0, 0, 0), font(10)
    lats = degree_ticks(south, north, height)
    for lat in lats:
        y = top + int(round((north - lat) / (north - south) * (height - 1)))
        draw.line((left - 4, y, left - 1, y), fill=ink)
        step = lats[1] - lats[0] if len(lats) > 1 else 1.0
        text = _degrees(lat, step, "NS")
        draw.text((left - 6 - _text_width(draw, text, typeface), y - 6), text, fill=ink,
                  font=typeface)
    lons = degree_ticks(west, east, width, spacing=90)
    for lon in lons:
        x = left + int(round((lon - west) / (east - west) * (width - 1)))
        draw.line((x, top + height, x, top + height + 3), fill=ink)
        step = lons[1] - lons[0] if len(lons) > 1 else 1.0
        text = _degrees(lon, step, "EW")
        draw.text((x - _text_width(draw, text, typeface) // 2, top + height + 4), text,
                  fill=ink, font=typeface)
    # north arrow: a filled triangle over an "N", top right inside the picture
    ax, ay = left + width - 16, top + 8
    draw.polygon([(ax, ay), (ax - 6, ay + 14), (ax + 6, ay + 14)], fill=ink,
                 outline=(255, 255, 255))
    draw.text((ax - 4, ay + 15), "N", fill=ink, font=font(11))


def compose(rgba: np.ndarray, title: str, *, subtitle: str = "", bar: ColourBar | None = None,
            metres_per_pixel: float | None = None,
            extent: tuple[float, float, float, float] | None = None):
    """The quicklook canvas as a Pillow image.

    Parameters
    ----------
    rgba : ndarray of uint8, shape (M, N, 4)
        The picture.
    title : str
        First line above it.
    subtitle : str
        Second, smaller line (shape, decimation, stretch).
    bar : ColourBar, optional
        The colour bar under the picture.
    metres_per_pixel : float, optional
        Ground size of one picture column; without it no scale bar (the
        subtitle should say the scale is unknown).
    extent : tuple of float, optional
        ``(west, east, south, north)`` degrees of a north-up geographic
        picture: latitude/longitude ticks and a north arrow.

    Returns
    -------
    PIL.Image.Image
        RGBA.
    """
    from PIL import Image, ImageDraw

    height, width = rgba.shape[:2]
    bar_width = int(min(max(width // 2, 120), 320))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max(_text_width(probe, title, font(14)), _text_width(probe, subtitle, font(11)))
    gutter = 58 if extent is not None else 0          # room for the latitude labels
    canvas_w = max(width + 2 * gutter, bar_width + 200, text_w) + 2 * MARGIN
    top = MARGIN + 18 + (16 if subtitle else 0)
    bottom = BAR_HEIGHT + 36 + (16 if extent is not None else 0)
    canvas = Image.new("RGBA", (canvas_w, top + height + MARGIN + bottom), (255, 255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((MARGIN, MARGIN), title, fill=(0, 0, 0), font=font(14))
    if subtitle:
        draw.text((MARGIN, MARGIN + 18), subtitle, fill=(80, 80, 80), font=font(11))
    picture = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    left = MARGIN + (canvas_w - 2 * MARGIN - width) // 2
    canvas.paste(picture, (left, top))  # a plain paste keeps alpha 0 where there is no data
    if extent is not None:
        _draw_geo_ticks(draw, extent, left, top, width, height)
    y = top + height + MARGIN + (16 if extent is not None else 0)
    if bar is not None:
        _draw_colour_bar(draw, canvas, bar, MARGIN, y, bar_width)
    if metres_per_pixel is not None and metres_per_pixel > 0:
        limit = max(20, min(width // 3, canvas_w - bar_width - 4 * MARGIN - 60))
        _draw_scale_bar(draw, metres_per_pixel, canvas_w - MARGIN - 4, y, limit)
    return canvas
