"""Scene input: one SAR acquisition in the ``peppers-slc/1`` or ``/2`` contract.

The contract (``docs/input-format.md``) is the only input format of the
InSAR chain: a YAML metadata file and a one-band complex64 raster; v2 adds
optional radar parameters (centre frequency, bandwidths, Doppler centroid,
azimuth time offset, TOPS burst timing). This package reads it, validates
every rule, and writes it:

- :class:`Scene` (``model``): the frozen, always-valid metadata value, with
  ``azimuth_time(row)``, ``slant_range(col)``, ``orbit()`` and ``read(region)``;
- :mod:`~peppers.scene.radar`: the typed v2 values (``Polynomial``, ``Lut2D``,
  ``DopplerCentroid``, ``Tops``...), read and written by ``contract_v2``;
- :func:`load_scene` (``reader``): YAML + image to a ``Scene``, or a
  :class:`~peppers.errors.SceneError` naming the file and the field;
- :func:`write_scene` (``writer``): a ``Scene`` (and optionally its image
  array) to YAML + ``NAME.slc`` + ``NAME.slc.vrt``, every file atomic;
- :func:`load_gcps`, :func:`check_reference_dem` (``ancillary``): the optional
  ground control points and reference DEM of a run;
- :func:`parse_utc`, :func:`format_utc` (``utc``): the contract's time strings.
"""

from peppers.scene.ancillary import DemInfo, GroundControlPoint, check_reference_dem, load_gcps
from peppers.scene.model import FORMAT, FORMAT_V1, FORMAT_V2, FORMATS, Scene
from peppers.scene.radar import (DopplerCentroid, Lut2D, Polynomial, Polynomial2D, Tops,
                                 TopsBurst)
from peppers.scene.reader import check_image, load_scene, scene_from_mapping
from peppers.scene.utc import format_utc, parse_utc
from peppers.scene.writer import scene_metadata, write_scene

__all__ = [
    "FORMAT", "FORMAT_V1", "FORMAT_V2", "FORMATS", "Scene", "load_scene", "check_image",
    "scene_from_mapping", "write_scene", "scene_metadata",
    "Polynomial", "Polynomial2D", "Lut2D", "DopplerCentroid", "Tops", "TopsBurst",
    "load_gcps", "check_reference_dem", "GroundControlPoint", "DemInfo",
    "parse_utc", "format_utc",
]
