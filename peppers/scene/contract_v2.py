"""The optional sections of contract ``peppers-slc/2``: mapping <-> typed values.

:func:`v2_sections` turns a :class:`~peppers.scene.model.Scene`'s v2
attributes into the contract's mapping (merged into the v1 sections by
:func:`peppers.scene.writer.scene_metadata`); :func:`parse_v2` reads them back
from a metadata mapping into constructor arguments, refusing a malformed
field with a :class:`~peppers.errors.SceneError` naming the file and the
dotted field. Absent fields stay ``None``: the scene is then what v1 says.

Layout (every key optional; ``docs/input-format.md`` gives units and rules)::

    sensor:  {centre_frequency_hz}
    azimuth: {prf_hz, processed_bandwidth_hz,
              time_offset: {reference_range_m, coefficients}}       # s, s/m, ...
    range:   {sampling_rate_hz, processed_bandwidth_hz}
    doppler: {geometry: zero-doppler | native-doppler,
              polynomial: {reference_range_m, reference_time_s, coefficients}   # Hz
              | lut: {times_s, ranges_m, values}}                               # Hz
    tops:    {steering_rate_rad_s, mid_range_m,
              bursts: [{first_row, lines, first_line_utc, mid_utc,
                        azimuth_fm_rate: {reference_range_m, coefficients},   # Hz/s
                        doppler_centroid: {reference_range_m, coefficients}}]}  # Hz
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from peppers.errors import SceneError
from peppers.scene.radar import DopplerCentroid, Lut2D, Polynomial, Polynomial2D, Tops, TopsBurst
from peppers.scene.utc import format_utc, parse_utc

__all__ = ["v2_sections", "parse_v2"]

#: (section, key, Scene attribute) of the scalar v2 fields, all in Hz.
SCALARS = (("sensor", "centre_frequency_hz", "centre_frequency_hz"),
           ("range", "sampling_rate_hz", "range_sampling_rate_hz"),
           ("range", "processed_bandwidth_hz", "range_bandwidth_hz"),
           ("azimuth", "prf_hz", "prf_hz"),
           ("azimuth", "processed_bandwidth_hz", "azimuth_bandwidth_hz"))


def v2_sections(scene) -> dict[str, dict[str, Any]]:
    """The v2 fields of ``scene`` as ``{section: {key: value}}`` (plain values only).

    Sections ``sensor``, ``azimuth`` and ``range`` are to be merged into the v1
    sections of the same name; ``doppler`` and ``tops`` are new sections.
    Fields that are ``None`` are left out.
    """
    out: dict[str, dict[str, Any]] = {}
    for section, key, attr in SCALARS:
        value = getattr(scene, attr)
        if value is not None:
            out.setdefault(section, {})[key] = value
    if scene.azimuth_time_offset is not None:
        out.setdefault("azimuth", {})["time_offset"] = scene.azimuth_time_offset.to_mapping()
    if scene.doppler is not None:
        out["doppler"] = scene.doppler.to_mapping()
    if scene.tops is not None:
        out["tops"] = scene.tops.to_mapping(format_utc)
    return out


class _Reader:
    """Typed access to optional v2 fields with contract errors naming ``file``."""

    def __init__(self, file: Path | str):
        self.file = file

    def fail(self, field: str, problem: str) -> SceneError:
        return SceneError(self.file, field, problem)

    def mapping(self, value: Any, field: str) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"is {value!r}; expected a mapping")
        return value

    def need(self, parent: Mapping, prefix: str, key: str) -> Any:
        if key not in parent or parent[key] is None:
            raise self.fail(f"{prefix}.{key}", "missing; the section requires it")
        return parent[key]

    def integer(self, parent: Mapping, prefix: str, key: str) -> int:
        value = self.need(parent, prefix, key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{prefix}.{key}", f"is {value!r}; expected an integer")
        return value

    def utc(self, parent: Mapping, prefix: str, key: str):
        value = self.need(parent, prefix, key)
        try:
            return value if hasattr(value, "tzinfo") else parse_utc(value)
        except ValueError as error:
            raise self.fail(f"{prefix}.{key}", f"bad time: {error}") from None

    def polynomial(self, value: Any, field: str) -> Polynomial:
        value = self.mapping(value, field)
        return Polynomial.make(self.need(value, field, "reference_range_m"),
                               self.need(value, field, "coefficients"), self.fail, field)

    def function2d(self, section: Mapping, field: str) -> Polynomial2D | Lut2D:
        kinds = [k for k in ("polynomial", "lut") if k in section]
        if len(kinds) != 1:
            raise self.fail(field, "needs exactly one of 'polynomial' or 'lut', got "
                                   f"{sorted(k for k in section if k != 'geometry')}")
        name = f"{field}.{kinds[0]}"
        body = self.mapping(section[kinds[0]], name)
        if kinds[0] == "polynomial":
            return Polynomial2D.make(self.need(body, name, "reference_range_m"),
                                     self.need(body, name, "reference_time_s"),
                                     self.need(body, name, "coefficients"), self.fail, name)
        return Lut2D.make(self.need(body, name, "times_s"), self.need(body, name, "ranges_m"),
                          self.need(body, name, "values"), self.fail, name)


def parse_v2(doc: Mapping[str, Any], file: Path | str) -> dict[str, Any]:
    """Constructor arguments of the v2 fields present in a metadata mapping.

    Parameters
    ----------
    doc : mapping
        The whole metadata document (or the mapping a run records).
    file : path or str
        Names the document in errors.

    Returns
    -------
    dict
        ``Scene`` keyword arguments, only for the fields present. Numbers are
        type-checked here; value rules (positive, c / f = wavelength...) are
        the :class:`Scene` constructor's.

    Raises
    ------
    SceneError
        Naming ``file`` and the dotted field.
    """
    r = _Reader(file)
    out: dict[str, Any] = {}
    for section, key, attr in SCALARS:
        parent = doc.get(section)
        if isinstance(parent, Mapping) and parent.get(key) is not None:
            value = parent[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise r.fail(f"{section}.{key}", f"is {value!r}; expected a number (Hz)")
            out[attr] = float(value)
    azimuth = doc.get("azimuth")
    if isinstance(azimuth, Mapping) and azimuth.get("time_offset") is not None:
        out["azimuth_time_offset"] = r.polynomial(azimuth["time_offset"], "azimuth.time_offset")
    if doc.get("doppler") is not None:
        section = r.mapping(doc["doppler"], "doppler")
        geometry = section.get("geometry", "zero-doppler")
        if not isinstance(geometry, str):
            raise r.fail("doppler.geometry", f"is {geometry!r}; expected a string")
        out["doppler"] = DopplerCentroid(geometry, r.function2d(section, "doppler"))
    if doc.get("tops") is not None:
        section = r.mapping(doc["tops"], "tops")
        rate = r.need(section, "tops", "steering_rate_rad_s")
        mid = r.need(section, "tops", "mid_range_m")
        for key, value in (("steering_rate_rad_s", rate), ("mid_range_m", mid)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise r.fail(f"tops.{key}", f"is {value!r}; expected a number")
        items = r.need(section, "tops", "bursts")
        if not isinstance(items, list) or not items:
            raise r.fail("tops.bursts", f"is {items!r}; expected a non-empty list of bursts")
        bursts = []
        for i, item in enumerate(items):
            name = f"tops.bursts[{i}]"
            item = r.mapping(item, name)
            bursts.append(TopsBurst(
                first_row=r.integer(item, name, "first_row"),
                lines=r.integer(item, name, "lines"),
                first_line_utc=r.utc(item, name, "first_line_utc"),
                mid_utc=r.utc(item, name, "mid_utc"),
                azimuth_fm_rate=r.polynomial(r.need(item, name, "azimuth_fm_rate"),
                                             f"{name}.azimuth_fm_rate"),
                doppler_centroid=r.polynomial(r.need(item, name, "doppler_centroid"),
                                              f"{name}.doppler_centroid")))
        out["tops"] = Tops(float(rate), float(mid), tuple(bursts))
    return out
