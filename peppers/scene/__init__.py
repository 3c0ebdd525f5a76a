"""Scene input: one SAR acquisition in the ``peppers-slc/1`` contract.

The contract (``shared/spec/scene-format.md``) is the only input format of the
InSAR chain: a YAML metadata file and a one-band complex64 raster. This
package reads it, validates every rule, and writes it:

- :class:`Scene` (``model``): the frozen, always-valid metadata value, with
  ``azimuth_time(row)``, ``slant_range(col)``, ``orbit()`` and ``read(region)``;
- :func:`load_scene` (``reader``): YAML + image to a ``Scene``, or a
  :class:`~peppers.errors.SceneError` naming the file and the field;
- :func:`write_scene` (``writer``): a ``Scene`` (and optionally its image
  array) to YAML + ``NAME.slc`` + ``NAME.slc.vrt``, every file atomic;
- :func:`load_gcps`, :func:`check_reference_dem` (``ancillary``): the optional
  ground control points and reference DEM of a run;
- :func:`parse_utc`, :func:`format_utc` (``utc``): the contract's time strings.
"""

from peppers.scene.ancillary import DemInfo, GroundControlPoint, check_reference_dem, load_gcps
from peppers.scene.model import FORMAT, Scene
from peppers.scene.reader import check_image, load_scene
from peppers.scene.utc import format_utc, parse_utc
from peppers.scene.writer import scene_metadata, write_scene

__all__ = [
    "FORMAT", "Scene", "load_scene", "check_image", "write_scene", "scene_metadata",
    "load_gcps", "check_reference_dem", "GroundControlPoint", "DemInfo",
    "parse_utc", "format_utc",
]
