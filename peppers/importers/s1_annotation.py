"""The Sentinel-1 SLC annotation XML of one swath: the values an import needs.

Reads the product annotation (``annotation/s1?-iw?-slc-??-*.xml`` of a SAFE;
ESA "Sentinel-1 Product Specification", S1-RS-MDA-52-7441, sec. 6.2.3):

- ``adsHeader``: mission, mode, swath, polarisation;
- ``generalAnnotation/productInformation``: ``radarFrequency``,
  ``rangeSamplingRate``, ``azimuthSteeringRate`` (degrees/s);
- ``generalAnnotation/orbitList``: state vectors (Earth-fixed);
- ``generalAnnotation/azimuthFmRateList``: ``azimuthTime``, ``t0``,
  ``azimuthFmRatePolynomial`` (or ``c0 c1 c2`` in older IPF versions), a
  polynomial in two-way slant-range time ``tau - t0``;
- ``generalAnnotation/downlinkInformationList``: ``prf``, ``downlinkValues/rank``;
- ``imageAnnotation/imageInformation``: ``slantRangeTime`` (two-way, of
  sample 0), ``azimuthTimeInterval``, ``numberOfLines``, ``numberOfSamples``;
- ``imageAnnotation/processingInformation/swathProcParamsList``: processed
  range and azimuth bandwidths;
- ``dopplerCentroid/dcEstimateList``: ``azimuthTime``, ``t0``,
  ``dataDcPolynomial`` (the data Doppler centroid, as ISCE2/s1-reader use);
- ``swathTiming``: ``linesPerBurst``, ``samplesPerBurst`` and, per burst,
  ``azimuthTime`` (zero-Doppler time of its first line) and the per-line
  ``firstValidSample`` / ``lastValidSample`` (-1: an invalid line);
- ``geolocationGrid``: per node ``azimuthTime``, ``slantRangeTime``,
  ``line``, ``pixel``, ``latitude``, ``longitude``, ``height``.

Every missing or malformed element is a :class:`~peppers.errors.SceneError`
naming the file and the element path.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from peppers.errors import SceneError

__all__ = ["Annotation", "Burst", "Estimate", "GridPoint", "parse_annotation", "parse_s1_time"]


def parse_s1_time(text: str) -> datetime:
    """``2022-09-18T07:49:21.513561`` (UTC, no zone) -> tz-aware datetime."""
    return datetime.fromisoformat(text.strip()).replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Estimate:
    """A polynomial estimate in slant-range time: ``sum c_k (tau - t0)^k`` at ``time``."""

    time: datetime
    t0: float
    coefficients: tuple[float, ...]


@dataclass(frozen=True)
class Burst:
    """One burst: the zero-Doppler time of its first line, and its valid samples per line."""

    index: int                     # 0-based
    azimuth_time: datetime
    first_valid: np.ndarray        # per line; -1 where the line is invalid
    last_valid: np.ndarray


@dataclass(frozen=True)
class GridPoint:
    """A node of the annotation's geolocation grid."""

    azimuth_time: datetime
    slant_range_time: float
    line: int
    pixel: int
    latitude: float
    longitude: float
    height: float


@dataclass(frozen=True)
class Annotation:
    """The parsed annotation of one swath."""

    path: Path
    mission: str
    mode: str
    swath: str
    polarisation: str
    radar_frequency: float
    range_sampling_rate: float
    steering_rate_rad_s: float
    slant_range_time: float
    azimuth_time_interval: float
    lines: int
    samples: int
    lines_per_burst: int
    range_bandwidth: float
    azimuth_bandwidth: float
    prf_raw: float
    rank: int
    orbit_times: tuple[datetime, ...]
    positions: np.ndarray
    velocities: np.ndarray
    fm_rates: tuple[Estimate, ...]
    dc_estimates: tuple[Estimate, ...]
    bursts: tuple[Burst, ...]
    grid: tuple[GridPoint, ...]


class _Xml:
    def __init__(self, root: ET.Element, path: Path):
        self.root, self.path = root, path

    def fail(self, field: str, problem: str) -> SceneError:
        return SceneError(self.path, field, problem)

    def node(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> ET.Element:
        found = (self.root if parent is None else parent).find(xpath)
        if found is None:
            raise self.fail(f"{where}{xpath}", "missing element")
        return found

    def text(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> str:
        value = (self.node(xpath, parent, where).text or "").strip()
        if not value:
            raise self.fail(f"{where}{xpath}", "is empty")
        return value

    def number(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> float:
        text = self.text(xpath, parent, where)
        try:
            value = float(text)
        except ValueError:
            raise self.fail(f"{where}{xpath}", f"is {text!r}; expected a number") from None
        if not math.isfinite(value):
            raise self.fail(f"{where}{xpath}", f"is {text!r}; expected a finite number")
        return value

    def integer(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> int:
        text = self.text(xpath, parent, where)
        try:
            return int(text)
        except ValueError:
            raise self.fail(f"{where}{xpath}", f"is {text!r}; expected an integer") from None

    def time(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> datetime:
        text = self.text(xpath, parent, where)
        try:
            return parse_s1_time(text)
        except ValueError:
            raise self.fail(f"{where}{xpath}", f"is {text!r}; expected an ISO time") from None

    def numbers(self, xpath: str, parent: ET.Element | None = None, where: str = "") -> np.ndarray:
        text = self.text(xpath, parent, where)
        try:
            return np.array([float(v) for v in text.split()])
        except ValueError:
            raise self.fail(f"{where}{xpath}", "expected a list of numbers") from None

    def items(self, xpath: str, tag: str) -> list[ET.Element]:
        items = self.node(xpath).findall(tag)
        if not items:
            raise self.fail(f"{xpath}/{tag}", "missing: the list is empty")
        return items


def parse_annotation(source: str | Path | bytes, name: str | Path | None = None) -> Annotation:
    """Parse one swath's annotation XML.

    Parameters
    ----------
    source : path or bytes
        The XML file, or its content (read from a zip).
    name : path, optional
        Names the file in errors (default: ``source``).

    Returns
    -------
    Annotation

    Raises
    ------
    SceneError
        Naming the file and the element path: unreadable or truncated XML,
        a missing element, a malformed number or time.
    """
    path = Path(name if name is not None else source if not isinstance(source, bytes) else "<xml>")
    try:
        if isinstance(source, bytes):
            root = ET.fromstring(source)
        else:
            root = ET.parse(source).getroot()
    except FileNotFoundError:
        raise SceneError(path, "(file)", "no such file") from None
    except (ET.ParseError, OSError) as error:
        raise SceneError(path, "(xml)", f"not a readable XML file (truncated?): {error}") from None
    x = _Xml(root, path)
    if root.tag != "product":
        raise x.fail("product", f"the root element is <{root.tag}>; not a Sentinel-1 annotation")
    info = "imageAnnotation/imageInformation"
    proc = "imageAnnotation/processingInformation/swathProcParamsList/swathProcParams"
    pinfo = "generalAnnotation/productInformation"
    times, pos, vel = [], [], []
    for i, item in enumerate(x.items("generalAnnotation/orbitList", "orbit")):
        where = f"generalAnnotation/orbitList/orbit[{i}]/"
        frame = (item.findtext("frame") or "Earth Fixed").strip()
        if frame != "Earth Fixed":
            raise x.fail(f"{where}frame", f"is {frame!r}; expected 'Earth Fixed'")
        times.append(x.time("time", item, where))
        pos.append([x.number(f"position/{a}", item, where) for a in "xyz"])
        vel.append([x.number(f"velocity/{a}", item, where) for a in "xyz"])
    lines_per_burst = x.integer("swathTiming/linesPerBurst")
    bursts = []
    for i, item in enumerate(x.items("swathTiming/burstList", "burst")):
        where = f"swathTiming/burstList/burst[{i}]/"
        first = x.numbers("firstValidSample", item, where).astype(int)
        last = x.numbers("lastValidSample", item, where).astype(int)
        if first.size != lines_per_burst or last.size != lines_per_burst:
            raise x.fail(f"{where}firstValidSample", f"has {first.size} / {last.size} values "
                                                    f"for {lines_per_burst} lines per burst")
        bursts.append(Burst(i, x.time("azimuthTime", item, where), first, last))
    grid = []
    for i, item in enumerate(x.items("geolocationGrid/geolocationGridPointList",
                                     "geolocationGridPoint")):
        where = f"geolocationGrid/geolocationGridPointList/geolocationGridPoint[{i}]/"
        grid.append(GridPoint(x.time("azimuthTime", item, where),
                              x.number("slantRangeTime", item, where),
                              x.integer("line", item, where), x.integer("pixel", item, where),
                              x.number("latitude", item, where),
                              x.number("longitude", item, where),
                              x.number("height", item, where)))
    downlink = "generalAnnotation/downlinkInformationList/downlinkInformation"
    return Annotation(
        path=path,
        mission=x.text("adsHeader/missionId"), mode=x.text("adsHeader/mode"),
        swath=x.text("adsHeader/swath"), polarisation=x.text("adsHeader/polarisation"),
        radar_frequency=x.number(f"{pinfo}/radarFrequency"),
        range_sampling_rate=x.number(f"{pinfo}/rangeSamplingRate"),
        steering_rate_rad_s=math.radians(x.number(f"{pinfo}/azimuthSteeringRate")),
        slant_range_time=x.number(f"{info}/slantRangeTime"),
        azimuth_time_interval=x.number(f"{info}/azimuthTimeInterval"),
        lines=x.integer(f"{info}/numberOfLines"), samples=x.integer(f"{info}/numberOfSamples"),
        lines_per_burst=lines_per_burst,
        range_bandwidth=x.number(f"{proc}/rangeProcessing/processingBandwidth"),
        azimuth_bandwidth=x.number(f"{proc}/azimuthProcessing/processingBandwidth"),
        prf_raw=x.number(f"{downlink}/prf"), rank=x.integer(f"{downlink}/downlinkValues/rank"),
        orbit_times=tuple(times), positions=np.array(pos), velocities=np.array(vel),
        fm_rates=tuple(_estimates(x, "generalAnnotation/azimuthFmRateList", "azimuthFmRate",
                                  "azimuthFmRatePolynomial", ("c0", "c1", "c2"))),
        dc_estimates=tuple(_estimates(x, "dopplerCentroid/dcEstimateList", "dcEstimate",
                                      "dataDcPolynomial", None)),
        bursts=tuple(bursts), grid=tuple(grid))


def _estimates(x: _Xml, xpath: str, tag: str, poly: str, legacy) -> list[Estimate]:
    out = []
    for i, item in enumerate(x.items(xpath, tag)):
        where = f"{xpath}/{tag}[{i}]/"
        if item.find(poly) is None and legacy is not None and item.find(legacy[0]) is not None:
            coef = [x.number(c, item, where) for c in legacy]
        else:
            coef = list(x.numbers(poly, item, where))
            if not coef:
                raise x.fail(f"{where}{poly}", "is empty")
        out.append(Estimate(x.time("azimuthTime", item, where), x.number("t0", item, where),
                            tuple(coef)))
    return out
