"""Sentinel-1 IW SLC bursts to ``peppers-slc/2``: ``pep import s1 ...``.

Input: a SAFE folder or its zip (the swath's annotation XML and measurement
GeoTIFF are found by swath and polarisation), or a loose annotation XML and
measurement GeoTIFF, the latter possibly a crop of the swath raster whose
first pixel lies at swath line/sample ``measurement_offset`` (0-based).

Output grid. Bursts ``I..J`` (1-based, as ESA numbers them) are placed on one
zero-Doppler time grid that starts at burst ``I``'s first line time and steps
by ``azimuthTimeInterval``; burst ``k``'s first line falls on output row
``round((t_k - t_I) / dt)`` (bursts start at non-integer line distances of
about 1342 lines; the rounding moves a burst by at most 1e-3 line, 2 us).
Each burst contributes only its valid lines (``firstValidSample != -1``) and
its valid samples (the largest ``firstValidSample`` to the smallest
``lastValidSample`` of those lines). **Overlap choice**: where two
consecutive bursts' valid lines overlap, the output takes the earlier burst
up to the middle of the overlap and the later burst from there (as ISCE2
``topsApp`` merging without ESD); the rest of the grid is no-data (0). The
result is clipped to the measurement file's coverage, and becomes a VRT of
one ``SimpleSource`` per burst over the measurement GeoTIFF (no copy).

Metadata (v2): centre frequency, range sampling rate, processed range and
azimuth bandwidths; the Doppler centroid (``dataDcPolynomial`` of the
estimate nearest each burst's mid time) and, per burst, the azimuth FM rate
(the estimate nearest its mid time) and timing for TOPS deramping, with the
steering rate; the bistatic azimuth time offset ``dt(R) = c0 + (R - R0) / c``
(half the two-way travel time varies with range; ``c0`` is the median over
the annotation's geolocation grid of its azimuth time minus the line time
minus ``(R - R0) / c``, ``R0`` the swath's near range), the zero-Doppler
correction s1-reader and ISCE3 apply as a LUT (Gisinger et al. 2021, eq. 21).
An orbit file (``--orbit``, :mod:`peppers.importers.eof`) replaces the
annotation's state vectors.
"""

from __future__ import annotations

import fnmatch
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from peppers.errors import SceneError
from peppers.importers.eof import OrbitVectors, read_eof
from peppers.importers.s1_annotation import Annotation, Estimate, parse_annotation
from peppers.scene import (DopplerCentroid, Lut2D, Polynomial, Polynomial2D, Scene, Tops,
                           TopsBurst)
from peppers.scene.radar import SPEED_OF_LIGHT

__all__ = ["S1Import", "locate_safe", "build_s1", "import_s1", "bistatic_offset"]


@dataclass(frozen=True)
class Piece:
    """One burst's rectangle: measurement-file window -> output window."""

    burst: int
    src_row: int
    src_col: int
    rows: int
    cols: int
    dst_row: int
    dst_col: int


@dataclass(frozen=True)
class S1Import:
    """The scene, the VRT pieces and where they come from."""

    scene: Scene
    annotation: Annotation
    measurement: str
    measurement_shape: tuple[int, int]
    pieces: tuple[Piece, ...]
    bursts: tuple[int, int]   # 0-based, inclusive
    orbit_source: str


def _time_s(a: datetime, b: datetime) -> float:
    return (a - b) / timedelta(seconds=1)


def locate_safe(source: str | Path, swath: int, polarization: str) -> tuple[bytes, str, Path]:
    """The annotation XML (bytes) and the measurement GDAL path of one swath.

    Raises
    ------
    SceneError
        Naming the SAFE/zip and the member pattern when nothing matches.
    """
    source = Path(source).absolute()
    pattern = f"s1?-iw{swath}-slc-{polarization.lower()}-*"
    if source.is_dir():
        anns = sorted(source.glob(f"annotation/{pattern}.xml"))
        meas = sorted(source.glob(f"measurement/{pattern}.tiff"))
        if not anns:
            raise SceneError(source, f"annotation/{pattern}.xml", "missing: no annotation for "
                                     f"swath IW{swath}, polarisation {polarization.upper()}")
        if not meas:
            raise SceneError(source, f"measurement/{pattern}.tiff", "missing measurement")
        return anns[0].read_bytes(), str(meas[0]), anns[0]
    if not source.is_file():
        raise SceneError(source, "(file)", "no such SAFE folder or zip")
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            anns = [n for n in names if fnmatch.fnmatch(n, f"*/annotation/{pattern}.xml")]
            meas = [n for n in names if fnmatch.fnmatch(n, f"*/measurement/{pattern}.tiff")]
            if not anns:
                raise SceneError(source, f"annotation/{pattern}.xml", "missing: no annotation "
                                         f"for swath IW{swath}, polarisation "
                                         f"{polarization.upper()}")
            if not meas:
                raise SceneError(source, f"measurement/{pattern}.tiff", "missing measurement")
            return archive.read(anns[0]), f"/vsizip/{source}/{meas[0]}", source / anns[0]
    except zipfile.BadZipFile as error:
        raise SceneError(source, "(zip)", f"not a readable zip (truncated?): {error}") from None


def _nearest(estimates: tuple[Estimate, ...], when: datetime) -> Estimate:
    return min(estimates, key=lambda e: abs(_time_s(e.time, when)))


def _range_polynomial(est: Estimate) -> Polynomial:
    """``sum c_k (tau - t0)^k`` -> ``sum c_k (2/c)^k (R - c t0 / 2)^k``."""
    scale = 2.0 / SPEED_OF_LIGHT
    return Polynomial.make(SPEED_OF_LIGHT * est.t0 / 2.0,
                           [c * scale ** k for k, c in enumerate(est.coefficients)])


def bistatic_offset(ann: Annotation) -> tuple[Polynomial, np.ndarray]:
    """The azimuth time offset ``dt(R) = c0 + (R - R0) / c`` and its residuals (s).

    ``c0`` is the median, over the geolocation grid, of the grid's azimuth time
    minus the line time of its line minus ``(R - R0) / c``; the residuals are
    what is left at each node (microsecond rounding of the annotation).
    """
    r0 = SPEED_OF_LIGHT * ann.slant_range_time / 2.0
    dt, lpb = ann.azimuth_time_interval, ann.lines_per_burst
    values = []
    for p in ann.grid:
        k = min(p.line // lpb, len(ann.bursts) - 1)
        line_time = ann.bursts[k].azimuth_time + timedelta(seconds=(p.line - k * lpb) * dt)
        r = SPEED_OF_LIGHT * p.slant_range_time / 2.0
        values.append(_time_s(p.azimuth_time, line_time) - (r - r0) / SPEED_OF_LIGHT)
    values = np.array(values)
    c0 = float(np.median(values))
    return Polynomial.make(r0, [c0, 1.0 / SPEED_OF_LIGHT]), values - c0


def _valid(ann: Annotation, k: int) -> tuple[int, int, int, int]:
    """Valid lines [a, b) and samples [c, d) of burst ``k`` (burst-relative lines)."""
    burst = ann.bursts[k]
    ok = np.flatnonzero(burst.first_valid >= 0)
    if ok.size == 0:
        raise SceneError(ann.path, f"swathTiming/burstList/burst[{k}]/firstValidSample",
                         "every line is invalid (-1)")
    first = burst.first_valid[ok]
    last = burst.last_valid[ok]
    return int(ok[0]), int(ok[-1]) + 1, int(first.max()), int(last.min()) + 1


def _pieces(ann: Annotation, i0: int, i1: int, offset: tuple[int, int],
            shape: tuple[int, int]) -> tuple[list[Piece], list[int]]:
    """Burst rectangles on the output grid (rows from burst i0's first line), clipped."""
    dt, lpb = ann.azimuth_time_interval, ann.lines_per_burst
    t0 = ann.bursts[i0].azimuth_time
    starts = [round(_time_s(ann.bursts[k].azimuth_time, t0) / dt) for k in range(i0, i1 + 1)]
    spans = []
    for n, k in enumerate(range(i0, i1 + 1)):
        a, b, c, d = _valid(ann, k)
        spans.append([starts[n] + a, starts[n] + b, c, d])
    for n in range(len(spans) - 1):  # overlap: the earlier burst up to the middle
        lo, hi = spans[n + 1][0], spans[n][1]
        if hi > lo:
            mid = (lo + hi) // 2
            spans[n][1], spans[n + 1][0] = mid, mid
    m_row, m_col = offset
    pieces = []
    for n, k in enumerate(range(i0, i1 + 1)):
        r0, r1, c0, c1 = spans[n]
        # swath raster line of output row r: k * lpb + (r - starts[n])
        s0 = k * lpb + r0 - starts[n]
        lo_line, hi_line = max(s0, m_row), min(s0 + (r1 - r0), m_row + shape[0])
        lo_col, hi_col = max(c0, m_col), min(c1, m_col + shape[1])
        if hi_line <= lo_line or hi_col <= lo_col:
            continue
        pieces.append(Piece(k, lo_line - m_row, lo_col - m_col, hi_line - lo_line,
                            hi_col - lo_col, r0 + (lo_line - s0), lo_col))
    return pieces, starts


def build_s1(ann: Annotation, measurement: str, *, bursts: tuple[int, int],
             measurement_offset: tuple[int, int] = (0, 0),
             measurement_shape: tuple[int, int] | None = None,
             orbit: OrbitVectors | None = None) -> S1Import:
    """The scene of bursts ``bursts`` (0-based, inclusive) of one swath.

    Raises
    ------
    SceneError
        Naming the annotation (or orbit) file and the field: bursts out of
        range, a measurement that does not overlap them, an orbit that does
        not cover them.
    """
    i0, i1 = bursts
    n = len(ann.bursts)
    if not (0 <= i0 <= i1 < n):
        raise SceneError(ann.path, "swathTiming/burstList",
                         f"has bursts 1..{n}; asked for {i0 + 1}..{i1 + 1}")
    if measurement_shape is None:
        measurement_shape = _raster_shape(measurement)
    m_row, m_col = measurement_offset
    if m_row < 0 or m_col < 0 or m_row + measurement_shape[0] > ann.lines \
            or m_col + measurement_shape[1] > ann.samples:
        raise SceneError(measurement, "--measurement-offset",
                         f"a {measurement_shape[0]} x {measurement_shape[1]} raster at swath line "
                         f"{m_row}, sample {m_col} does not fit the swath of "
                         f"{ann.lines} x {ann.samples} ({ann.path.name})")
    pieces, starts = _pieces(ann, i0, i1, measurement_offset, measurement_shape)
    if not pieces:
        raise SceneError(measurement, "--measurement-offset",
                         f"the measurement (swath lines {measurement_offset[0]}.."
                         f"{measurement_offset[0] + measurement_shape[0] - 1}) holds no valid "
                         f"line of bursts {i0 + 1}..{i1 + 1}")
    row0 = min(p.dst_row for p in pieces)
    col0 = min(p.dst_col for p in pieces)
    lines = max(p.dst_row + p.rows for p in pieces) - row0
    samples = max(p.dst_col + p.cols for p in pieces) - col0
    pieces = [Piece(p.burst, p.src_row, p.src_col, p.rows, p.cols, p.dst_row - row0,
                    p.dst_col - col0) for p in pieces]
    dt = ann.azimuth_time_interval
    t_start = ann.bursts[i0].azimuth_time
    first_line = t_start + timedelta(seconds=row0 * dt)
    fs = ann.range_sampling_rate
    spacing = SPEED_OF_LIGHT / (2.0 * fs)
    near = SPEED_OF_LIGHT * ann.slant_range_time / 2.0
    mid_range = near + spacing * ann.samples / 2.0
    tops_bursts = []
    for j, k in enumerate(range(i0, i1 + 1)):
        burst_first = ann.bursts[k].azimuth_time
        mid = burst_first + timedelta(seconds=ann.lines_per_burst / 2.0 * dt)
        tops_bursts.append(TopsBurst(
            first_row=starts[j] - row0, lines=ann.lines_per_burst, first_line_utc=burst_first,
            mid_utc=mid, azimuth_fm_rate=_range_polynomial(_nearest(ann.fm_rates, mid)),
            doppler_centroid=_range_polynomial(_nearest(ann.dc_estimates, mid))))
    doppler = _doppler(tops_bursts, first_line, near, spacing, ann.samples)
    if orbit is None:
        times, pos, vel, source = ann.orbit_times, ann.positions, ann.velocities, "annotation"
    else:
        times, pos, vel, source = orbit.times, orbit.positions, orbit.velocities, orbit.source
    offset, _ = bistatic_offset(ann)
    fields = dict(
        sensor_name=f"{ann.mission} {ann.swath} {ann.polarisation}",
        wavelength_m=SPEED_OF_LIGHT / ann.radar_frequency, look_side="right",
        lines=lines, samples=samples, first_line_utc=first_line, line_interval_s=dt,
        first_sample_m=near + col0 * spacing, sample_spacing_m=spacing,
        orbit_utc=times, positions_m=pos, velocities_mps=vel,
        centre_frequency_hz=ann.radar_frequency, range_sampling_rate_hz=fs,
        range_bandwidth_hz=ann.range_bandwidth, prf_hz=1.0 / dt,
        azimuth_bandwidth_hz=ann.azimuth_bandwidth, doppler=doppler,
        azimuth_time_offset=offset,
        tops=Tops(ann.steering_rate_rad_s, mid_range, tuple(tops_bursts)))
    try:
        scene = Scene(**fields)
    except SceneError as error:
        where = ann.path if orbit is None or not error.field.startswith("orbit") \
            else Path(orbit.source)
        raise SceneError(where, error.field, error.problem) from None
    return S1Import(scene, ann, measurement, measurement_shape, tuple(pieces), (i0, i1), source)


def _doppler(bursts: list[TopsBurst], first_line: datetime, near: float, spacing: float,
             samples: int) -> DopplerCentroid:
    """One burst: its centroid polynomial; several: a LUT over burst mid times x range."""
    if len(bursts) == 1:
        p = bursts[0].doppler_centroid
        return DopplerCentroid("zero-doppler", Polynomial2D.make(
            p.reference, 0.0, [list(p.coefficients)]))
    ranges = near + spacing * np.linspace(0, samples - 1, 33)
    times = [_time_s(b.mid_utc, first_line) for b in bursts]
    values = [b.doppler_centroid(ranges) for b in bursts]
    return DopplerCentroid("zero-doppler", Lut2D.make(times, ranges, values))


def _raster_shape(path: str) -> tuple[int, int]:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                if ds.count != 1 or not str(ds.dtypes[0]).startswith("complex"):
                    raise SceneError(path, "(raster)", f"has {ds.count} band(s) of "
                                     f"{ds.dtypes[0]}; expected one complex band (CInt16)")
                # the last line must be readable: a truncated TIFF fails here
                ds.read(1, window=((ds.height - 1, ds.height), (0, ds.width)))
                return ds.height, ds.width
    except RasterioError as error:
        raise SceneError(path, "(raster)", f"GDAL cannot read it (truncated?): {error}") from None


def measurement_vrt(result: S1Import) -> bytes:
    """A VRT over the measurement GeoTIFF: one SimpleSource per burst piece, CFloat32."""
    from xml.sax.saxutils import escape

    h, w = result.measurement_shape
    scene = result.scene
    parts = [f'<VRTDataset rasterXSize="{scene.samples}" rasterYSize="{scene.lines}">',
             '  <VRTRasterBand dataType="CFloat32" band="1">', '    <NoDataValue>0</NoDataValue>']
    for p in result.pieces:
        parts += ['    <SimpleSource>',
                  f'      <SourceFilename relativeToVRT="0">{escape(result.measurement)}'
                  '</SourceFilename>',
                  '      <SourceBand>1</SourceBand>',
                  f'      <SourceProperties RasterXSize="{w}" RasterYSize="{h}" '
                  'DataType="CInt16"/>',
                  f'      <SrcRect xOff="{p.src_col}" yOff="{p.src_row}" xSize="{p.cols}" '
                  f'ySize="{p.rows}"/>',
                  f'      <DstRect xOff="{p.dst_col}" yOff="{p.dst_row}" xSize="{p.cols}" '
                  f'ySize="{p.rows}"/>',
                  '    </SimpleSource>']
    parts += ['  </VRTRasterBand>', '</VRTDataset>', '']
    return "\n".join(parts).encode("utf-8")


def parse_bursts(burst: int | None, bursts: str | None, count: int, where: Path) -> tuple[int, int]:
    """``--burst N`` or ``--bursts I-J`` (1-based) -> 0-based inclusive pair."""
    if burst is not None and bursts is not None:
        raise SceneError(where, "--burst/--bursts", "give one of them, not both")
    if bursts is not None:
        try:
            a, b = (int(v) for v in str(bursts).split("-"))
        except ValueError:
            raise SceneError(where, "--bursts", f"is {bursts!r}; expected I-J, e.g. 3-5") from None
    elif burst is not None:
        a = b = int(burst)
    else:
        a, b = 1, count
    if not (1 <= a <= b <= count):
        raise SceneError(where, "swathTiming/burstList",
                         f"has bursts 1..{count}; asked for {a}..{b}")
    return a - 1, b - 1


def import_s1(source: str | Path | None, outdir: str | Path, *, swath: int,
              polarization: str = "vv", burst: int | None = None, bursts: str | None = None,
              orbit: str | Path | None = None, annotation: str | Path | None = None,
              measurement: str | Path | None = None,
              measurement_offset: tuple[int, int] = (0, 0), name: str | None = None,
              overwrite: bool = False) -> Path:
    """``pep import s1``: write ``NAME.yaml`` + ``NAME.vrt`` into ``outdir``.

    Parameters
    ----------
    source : path or None
        SAFE folder or zip; None with ``annotation`` and ``measurement``.
    outdir : path
    swath : {1, 2, 3}
    polarization : str
    burst, bursts : optional
        ``--burst N`` or ``--bursts I-J`` (1-based); default every burst.
    orbit : path, optional
        POEORB/RESORB ``.EOF`` replacing the annotation state vectors.
    annotation, measurement : path, optional
        Loose files (instead of ``source``).
    measurement_offset : (int, int)
        0-based swath line and sample of the measurement file's first pixel.
    name : str, optional
        Output stem; default ``<annotation stem>_b<I>[-<J>]``.
    overwrite : bool

    Returns
    -------
    Path
        The YAML written.

    Raises
    ------
    SceneError
        One line naming the file and the field; OUTDIR is then unchanged.
    """
    from peppers.importers.staging import write_import

    if swath not in (1, 2, 3):
        raise SceneError(source or annotation or "<s1>", "--swath", f"is {swath!r}; use 1, 2 or 3")
    if source is not None:
        if annotation is not None or measurement is not None:
            raise SceneError(source, "--annotation/--measurement",
                             "give a SAFE/zip or loose files, not both")
        xml, meas, ann_name = locate_safe(source, swath, polarization)
        ann = parse_annotation(xml, ann_name)
        shape = _raster_shape(meas)
        if shape != (ann.lines, ann.samples):
            raise SceneError(meas, "(size)", f"is {shape[0]} x {shape[1]}, but the annotation "
                                             f"describes {ann.lines} x {ann.samples}: a SAFE "
                                             "measurement is the whole swath")
    else:
        if annotation is None or measurement is None:
            raise SceneError("<s1>", "--annotation/--measurement",
                             "need a SAFE folder or zip, or both --annotation and --measurement")
        ann = parse_annotation(Path(annotation).absolute())
        meas = str(Path(measurement).absolute())
        if not Path(meas).is_file():
            raise SceneError(meas, "(file)", "no such measurement file")
    if ann.swath.upper() != f"IW{swath}":
        raise SceneError(ann.path, "adsHeader/swath", f"is {ann.swath}; asked for --swath {swath}")
    if ann.polarisation.upper() != polarization.upper():
        raise SceneError(ann.path, "adsHeader/polarisation",
                         f"is {ann.polarisation}; asked for --polarization {polarization}")
    pair = parse_bursts(burst, bursts, len(ann.bursts), ann.path)
    vectors = None
    if orbit is not None:
        dt = ann.azimuth_time_interval
        start = ann.bursts[pair[0]].azimuth_time
        stop = ann.bursts[pair[1]].azimuth_time + timedelta(seconds=ann.lines_per_burst * dt)
        vectors = read_eof(orbit, start, stop, mission=ann.mission)
    result = build_s1(ann, meas, bursts=pair, measurement_offset=tuple(measurement_offset),
                      orbit=vectors)
    stem = name or (f"{Path(ann.path).stem}_b{pair[0] + 1}"
                    + (f"-{pair[1] + 1}" if pair[1] != pair[0] else ""))
    return write_import(outdir, stem, result.scene, overwrite=overwrite,
                        vrt_xml=lambda _: measurement_vrt(result))
