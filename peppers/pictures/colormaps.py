"""Colour ramps for quicklooks: cyclic phase, grey, terrain; and shaded relief.

A :class:`Colormap` is a 256-entry lookup table built by linear
interpolation between anchor colours. Values are mapped onto it with
:meth:`Colormap.map`; NaN is left to the caller (quicklooks make it
transparent through the alpha channel).

The ramps
---------
``phase``
    Cyclic: the first and last entries are the same colour, so -pi and +pi
    meet without a seam. Four hues (magenta, orange, green, blue) of similar
    lightness, the layout of the colorcet ``C2``/``CET-C7`` family that
    InSAR viewers use for wrapped phase [1]_ (an HSV wheel has bright yellow
    and cyan bands that read as false fringes).
``grey``
    Linear black to white, for amplitude (dB) and coherence (0..1).
``terrain``
    Low green through yellow-brown to white peaks: the hypsometric tint of
    shaded-relief maps, multiplied by a hillshade (:func:`hillshade`) for
    heights.

References
----------
.. [1] P. Kovesi, "Good colour maps: how to design them", arXiv:1509.03700,
   2015 (cyclic maps for phase, section 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Anchors ``(position 0..1, (r, g, b))`` of the ramps.
_ANCHORS: dict[str, tuple[tuple[float, tuple[int, int, int]], ...]] = {
    "phase": ((0.0, (220, 80, 200)), (0.25, (240, 150, 60)), (0.5, (120, 200, 80)),
              (0.75, (60, 130, 230)), (1.0, (220, 80, 200))),
    "grey": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    # perceptually ordered, dark blue to yellow (the anchors of viridis): unwrapped phase, values
    "ramp": ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)),
             (0.75, (94, 201, 98)), (1.0, (253, 231, 37))),
    "terrain": ((0.0, (40, 110, 60)), (0.25, (120, 170, 80)), (0.5, (225, 210, 130)),
                (0.75, (160, 115, 75)), (1.0, (250, 250, 250))),
}


@dataclass(frozen=True)
class Colormap:
    """A named 256-colour lookup table.

    Parameters
    ----------
    name : str
        ``phase``, ``grey`` or ``terrain`` (see the module docstring).
    cyclic : bool
        Whether values wrap around (phase) instead of being clipped.
    """

    name: str
    cyclic: bool = False
    lut: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name not in _ANCHORS:
            raise ValueError(f"unknown colour map {self.name!r}; known: {sorted(_ANCHORS)}")
        anchors = _ANCHORS[self.name]
        pos = np.array([a[0] for a in anchors])
        rgb = np.array([a[1] for a in anchors], dtype=float)
        # a cyclic table has 256 distinct entries: position 1.0 is entry 0 again
        x = np.arange(256) / (256.0 if self.cyclic else 255.0)
        lut = np.stack([np.interp(x, pos, rgb[:, k]) for k in range(3)], axis=1)
        object.__setattr__(self, "lut", np.rint(lut).astype(np.uint8))

    def map(self, values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
        """RGB colours of ``values`` scaled from ``[vmin, vmax]``.

        Parameters
        ----------
        values : ndarray of float
            Any shape; NaN gives entry 0 (mask it yourself).
        vmin, vmax : float
            The range mapped onto the table; outside it values are clipped,
            or wrapped for a cyclic map.

        Returns
        -------
        ndarray of uint8, shape ``values.shape + (3,)``
        """
        span = float(vmax) - float(vmin)
        t = (np.asarray(values, dtype=np.float64) - vmin) / (span if span > 0 else 1.0)
        t = np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0)
        if self.cyclic:
            index = np.floor(np.mod(t, 1.0) * 256).astype(np.int64) % 256
        else:
            index = np.rint(np.clip(t, 0.0, 1.0) * 255).astype(np.int64)
        return self.lut[index]


PHASE = Colormap("phase", cyclic=True)
GREY = Colormap("grey")
TERRAIN = Colormap("terrain")
RAMP = Colormap("ramp")

#: Distinct colours of labels 1, 2, ... (label 0 is drawn transparent), repeated past 10.
LABEL_COLOURS = np.array([(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                          (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
                          (188, 189, 34), (23, 190, 207)], dtype=np.uint8)


def hillshade(height: np.ndarray, spacing: tuple[float, float], *, azimuth_deg: float = 315.0,
              altitude_deg: float = 45.0, exaggeration: float = 1.0) -> np.ndarray:
    """Lambertian shading of a height field lit from ``azimuth_deg``, ``altitude_deg``.

    Parameters
    ----------
    height : ndarray of float, shape (M, N)
        Heights in metres; NaN where unknown (the shade is NaN there and at
        the neighbours whose gradient needs it).
    spacing : tuple of float
        Pixel size ``(dy, dx)`` in metres along rows and columns.
    azimuth_deg : float
        Direction the light comes from, clockwise from the top of the image
        (315: top left, the cartographic convention).
    altitude_deg : float
        Elevation of the light above the horizon.
    exaggeration : float
        Vertical exaggeration of the slopes.

    Returns
    -------
    ndarray of float64, shape (M, N)
        ``cos(incidence)`` of the light on each facet, clipped to [0, 1].

    References
    ----------
    .. [1] B. K. P. Horn, "Hill shading and the reflectance map",
       Proc. IEEE 69(1):14-47, 1981, eq. for a Lambertian surface
       (the ESRI/GDAL ``gdaldem hillshade`` formula).
    """
    z = np.asarray(height, dtype=np.float64) * exaggeration
    if z.shape[0] < 2 or z.shape[1] < 2:
        return np.where(np.isnan(z), np.nan, np.sin(np.radians(altitude_deg)))
    dzdy, dzdx = np.gradient(z, float(spacing[0]), float(spacing[1]))
    # rows grow downwards (south), so "north" slope is -dz/drow
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, dzdy)  # direction of steepest descent, clockwise from north
    zenith = np.radians(90.0 - altitude_deg)
    az = np.radians(azimuth_deg)
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shade, 0.0, 1.0)


def shaded_relief(height: np.ndarray, spacing: tuple[float, float], vmin: float, vmax: float,
                  *, ambient: float = 0.35) -> np.ndarray:
    """Terrain colours of ``height`` darkened by its hillshade.

    Parameters
    ----------
    height : ndarray of float, shape (M, N)
    spacing : tuple of float
        ``(dy, dx)`` metres.
    vmin, vmax : float
        Height range of the colour ramp.
    ambient : float
        Share of light that reaches every facet (shadows are never black).

    Returns
    -------
    ndarray of uint8, shape (M, N, 3)
    """
    colour = TERRAIN.map(height, vmin, vmax).astype(np.float64)
    shade = np.nan_to_num(hillshade(height, spacing), nan=1.0)
    light = ambient + (1.0 - ambient) * shade[..., None] / max(np.sin(np.radians(45.0)), 1e-6)
    return np.clip(colour * np.minimum(light, 1.25), 0, 255).astype(np.uint8)
