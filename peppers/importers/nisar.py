"""NISAR L1 RSLC (HDF5) to ``peppers-slc/2``: ``pep import nisar FILE.h5 OUTDIR``.

The NISAR range-Doppler SLC product (JPL D-102268, "NISAR L1 RSLC Product
Specification") keeps one band's image per polarisation under
``science/<BAND>/SLC/swaths/frequency<A|B>/<POL>`` (BAND is ``LSAR`` or
``SSAR``) on a zero-Doppler grid, with the metadata beside it. What is read
from where:

============================================  =========================================
contract field                                HDF5 (under ``science/<BAND>/SLC``)
============================================  =========================================
``image.lines``, ``image.samples``            shape of ``swaths/frequencyX/POL``
``azimuth.first_line_utc``                    ``swaths/zeroDopplerTime[0]`` + the epoch
                                              in its ``units`` ("seconds since ...")
``azimuth.line_interval_s``, ``prf_hz``       ``swaths/zeroDopplerTimeSpacing`` (checked
                                              against the time axis); prf = 1 / spacing
``range.first_sample_m``, ``sample_spacing``  ``swaths/frequencyX/slantRange[0]``,
                                              ``slantRangeSpacing`` (checked)
``range.sampling_rate_hz``                    ``c / (2 slantRangeSpacing)``
``range.processed_bandwidth_hz``              ``swaths/frequencyX/processedRangeBandwidth``
``azimuth.processed_bandwidth_hz``            ``swaths/frequencyX/processedAzimuthBandwidth``
``sensor.centre_frequency_hz``, wavelength    ``swaths/frequencyX/processedCenterFrequency``
``sensor.look_side``                          ``../identification/lookDirection``
``sensor.name``                               ``../identification/missionId``
``orbit.state_vectors``                       ``metadata/orbit/{time,position,velocity}``
``doppler`` (zero-Doppler geometry, LUT)      ``metadata/processingInformation/parameters/
                                              {zeroDopplerTime,slantRange,
                                              frequencyX/dopplerCentroid}``, the nodes
                                              over the image (+1), at most 33 per axis
============================================  =========================================

The image becomes a VRT over the HDF5 dataset itself (GDAL's HDF5 driver,
``HDF5:"FILE"://science/...``), no copy, when GDAL reads it as complex64;
otherwise (e.g. NISAR's half-precision complex) it is converted to a raw
complex64 file + VRT.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from peppers.errors import SceneError
from peppers.scene import DopplerCentroid, Lut2D, Scene
from peppers.scene.radar import SPEED_OF_LIGHT

__all__ = ["NisarProduct", "read_nisar", "import_nisar", "hdf5_vrt"]

FREQUENCIES = ("A", "B")
_EPOCH_RE = re.compile(r"seconds since (\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)")


@dataclass(frozen=True)
class NisarProduct:
    """A scene read from an RSLC file, and where its image lives in the file."""

    scene: Scene
    file: Path
    dataset: str          # the image's HDF5 path
    dtype: np.dtype


class _H5:
    """Reading one HDF5 file with errors that name it and the dataset."""

    def __init__(self, handle, path: Path):
        self.h, self.path = handle, path

    def fail(self, field: str, problem: str) -> SceneError:
        return SceneError(self.path, field, problem)

    def group(self, name: str):
        import h5py

        obj = self.h.get(name)
        if not isinstance(obj, h5py.Group):
            raise self.fail(name, "missing group; is this a NISAR L1 RSLC (science/<BAND>/SLC)?")
        return obj

    def dataset(self, name: str):
        import h5py

        obj = self.h.get(name)
        if not isinstance(obj, h5py.Dataset):
            raise self.fail(name, "missing dataset")
        return obj

    def read(self, name: str) -> np.ndarray:
        try:
            return self.dataset(name)[()]
        except OSError as error:  # a truncated or damaged file
            raise self.fail(name, f"cannot be read: {error}") from None

    def number(self, name: str) -> float:
        value = np.asarray(self.read(name))
        if value.size != 1 or not np.issubdtype(value.dtype, np.number) \
                or not np.isfinite(value).all():
            raise self.fail(name, f"expected one finite number, got {value!r}")
        return float(value.reshape(-1)[0])

    def text(self, name: str) -> str:
        value = self.read(name)
        if isinstance(value, bytes):
            return value.decode("ascii", "replace").strip()
        return str(value).strip()

    def vector(self, name: str, ndim: int = 1) -> np.ndarray:
        value = np.asarray(self.read(name), dtype=np.float64)
        if value.ndim != ndim or value.size == 0 or not np.isfinite(value).all():
            raise self.fail(name, f"expected a finite {ndim}-D array, got shape {value.shape}")
        return value

    def epoch(self, name: str) -> datetime:
        units = self.dataset(name).attrs.get("units")
        if isinstance(units, bytes):
            units = units.decode("ascii", "replace")
        match = _EPOCH_RE.search(str(units)) if units is not None else None
        if match is None:
            raise self.fail(f"{name}@units", f"is {units!r}; expected 'seconds since "
                                             "YYYY-MM-DD HH:MM:SS'")
        return datetime.fromisoformat(f"{match[1]}T{match[2]}").replace(tzinfo=timezone.utc)


def _band(h: _H5) -> str:
    science = h.group("science")
    bands = [b for b in ("LSAR", "SSAR") if f"{b}/SLC" in science]
    if not bands:
        raise h.fail("science/LSAR/SLC", "missing: neither science/LSAR/SLC nor "
                                         "science/SSAR/SLC; not a NISAR RSLC product")
    return f"science/{bands[0]}"


def _seconds(epoch: datetime, base: datetime) -> float:
    return (epoch - base) / timedelta(seconds=1)


def read_nisar(path: str | Path, frequency: str = "A", polarization: str = "HH") -> NisarProduct:
    """Read one frequency and polarisation of an RSLC file into a :class:`Scene`.

    Parameters
    ----------
    path : path
        The HDF5 file.
    frequency : {"A", "B"}
    polarization : str
        ``HH``, ``HV``, ``VH``, ``VV`` (case-insensitive).

    Returns
    -------
    NisarProduct
        The scene has no image path yet.

    Raises
    ------
    SceneError
        Naming the file and the HDF5 dataset at fault: not HDF5 or truncated,
        missing groups or datasets, an unknown frequency or polarisation,
        inconsistent axes, an orbit that does not cover the image.
    """
    import h5py

    path = Path(path).absolute()
    frequency = str(frequency).upper()
    pol = str(polarization).upper()
    if frequency not in FREQUENCIES:
        raise SceneError(path, "--frequency", f"is {frequency!r}; use A or B")
    if not path.is_file():
        raise SceneError(path, "(file)", "no such file")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise SceneError(path, "(file)", f"not a readable HDF5 file (truncated?): {error}") from None
    with handle:
        h = _H5(handle, path)
        band = _band(h)
        slc = f"{band}/SLC"
        swath = f"{slc}/swaths/frequency{frequency}"
        if frequency not in _listed(h, f"{band}/identification/listOfFrequencies") \
                or swath not in handle:
            raise h.fail(swath, f"missing: the product has no frequency {frequency}")
        pols = _listed(h, f"{swath}/listOfPolarizations")
        image = f"{swath}/{pol}"
        if pol not in pols:
            raise h.fail(f"{swath}/listOfPolarizations",
                         f"lists {', '.join(pols) or 'nothing'}; no {pol}")
        data = h.dataset(image)
        if data.ndim != 2 or not np.issubdtype(data.dtype, np.complexfloating) \
                and data.dtype.names is None:
            raise h.fail(image, f"is {data.dtype} of shape {data.shape}; expected a 2-D "
                                "complex image")
        lines, samples = data.shape
        scene = _scene(h, band, swath, frequency, lines, samples)
        return NisarProduct(scene, path, image, data.dtype)


def _listed(h: _H5, name: str) -> list[str]:
    values = np.atleast_1d(h.read(name))
    return [v.decode("ascii", "replace").strip() if isinstance(v, bytes) else str(v).strip()
            for v in values]


def _uniform_axis(h: _H5, name: str, spacing_name: str, count: int, what: str, along: str,
                  unit: str) -> tuple[np.ndarray, float]:
    """The axis vector ``name`` and its spacing, checked against the image size and each other.

    The product's ``count`` values must step uniformly by ``spacing_name``
    (to 1e-6 of a step); otherwise a one-line error names the dataset.
    """
    values = h.vector(name)
    step = h.number(spacing_name)
    if values.size != count:
        raise h.fail(name, f"has {values.size} {what} for an image of {count} {along}")
    if count > 1 and abs((values[-1] - values[0]) / (count - 1) - step) > 1e-6 * step:
        raise h.fail(spacing_name, f"is {step!r} {unit} but {name.rsplit('/', 1)[-1]} steps by "
                                   f"{(values[-1] - values[0]) / (count - 1)!r} {unit}")
    return values, step


def _scene(h: _H5, band: str, swath: str, frequency: str, lines: int, samples: int) -> Scene:
    slc = f"{band}/SLC"
    t_name = f"{slc}/swaths/zeroDopplerTime"
    epoch = h.epoch(t_name)
    times, dt = _uniform_axis(h, t_name, f"{slc}/swaths/zeroDopplerTimeSpacing", lines,
                              "times", "lines", "s")
    r_name = f"{swath}/slantRange"
    ranges, dr = _uniform_axis(h, r_name, f"{swath}/slantRangeSpacing", samples,
                               "ranges", "samples", "m")
    f0 = h.number(f"{swath}/processedCenterFrequency")
    look = h.text(f"{band}/identification/lookDirection").lower()
    if look not in ("left", "right"):
        raise h.fail(f"{band}/identification/lookDirection", f"is {look!r}; expected left or right")
    first = epoch + timedelta(seconds=float(times[0]))
    # the scene clock starts at first_line_utc (held to the microsecond)
    first = first.replace(microsecond=first.microsecond)
    o_name = f"{slc}/metadata/orbit"
    o_epoch = h.epoch(f"{o_name}/time")
    o_times = h.vector(f"{o_name}/time")
    pos = h.vector(f"{o_name}/position", 2)
    vel = h.vector(f"{o_name}/velocity", 2)
    if pos.shape != (o_times.size, 3) or vel.shape != (o_times.size, 3):
        raise h.fail(o_name, f"position {pos.shape} and velocity {vel.shape} do not match "
                             f"{o_times.size} times")
    orbit_utc = [o_epoch + timedelta(seconds=float(t)) for t in o_times]
    doppler = _doppler(h, slc, frequency, first, (0.0, (lines - 1) * dt),
                       (float(ranges[0]), float(ranges[-1])))
    fields = dict(
        sensor_name=f"{h.text(f'{band}/identification/missionId') or 'NISAR'} "
                    f"(NISAR RSLC layout, frequency {frequency})",
        wavelength_m=SPEED_OF_LIGHT / f0, look_side=look, lines=lines, samples=samples,
        first_line_utc=first, line_interval_s=dt, first_sample_m=float(ranges[0]),
        sample_spacing_m=dr, orbit_utc=orbit_utc, positions_m=pos, velocities_mps=vel,
        centre_frequency_hz=f0, range_sampling_rate_hz=SPEED_OF_LIGHT / (2.0 * dr),
        range_bandwidth_hz=h.number(f"{swath}/processedRangeBandwidth"),
        prf_hz=1.0 / dt,
        azimuth_bandwidth_hz=h.number(f"{swath}/processedAzimuthBandwidth"),
        doppler=doppler)
    try:
        return Scene(**fields)
    except SceneError as error:  # name the product file, keep the contract field
        raise SceneError(h.path, f"{error.field} (from {_SOURCE.get(error.field, slc)})",
                         error.problem) from None


#: Contract field -> where the importer read it, for errors raised by the Scene rules.
_SOURCE = {
    "orbit.state_vectors": "metadata/orbit",
    "sensor.look_side": "identification/lookDirection",
    "range.processed_bandwidth_hz": "processedRangeBandwidth",
    "azimuth.processed_bandwidth_hz": "processedAzimuthBandwidth",
}


def _doppler(h: _H5, slc: str, frequency: str, first: datetime, span_t, span_r) -> DopplerCentroid:
    base = f"{slc}/metadata/processingInformation/parameters"
    t_name = f"{base}/zeroDopplerTime"
    lut_name = f"{base}/frequency{frequency}/dopplerCentroid"
    times = h.vector(t_name) + _seconds(h.epoch(t_name), first)
    ranges = h.vector(f"{base}/slantRange")
    values = h.vector(lut_name, 2)
    if values.shape != (times.size, ranges.size):
        raise h.fail(lut_name, f"has shape {values.shape}; its axes have {times.size} times "
                               f"and {ranges.size} ranges")
    times, ranges, values = _thin_lut(times, ranges, values, span_t, span_r)
    lut = Lut2D.make(times, ranges, values, lambda f, p: h.fail(lut_name, f"{f}: {p}"),
                     "doppler.lut")
    return DopplerCentroid("zero-doppler", lut)


#: Most LUT nodes kept per axis (the product's LUT is a smooth function sampled densely).
LUT_NODES = 33


def _thin_lut(times, ranges, values, span_t, span_r):
    """The LUT nodes over the image's span (one node of margin), at most LUT_NODES per axis.

    A constant LUT becomes 2 x 2. Thinning keeps every LUT node's value exact
    at the kept nodes; between them bilinear interpolation of a smooth
    centroid changes it by far less than the estimate's own error.
    """
    def window(axis, lo, hi):
        i0 = max(0, int(np.searchsorted(axis, lo, side="right")) - 2)
        i1 = min(axis.size, int(np.searchsorted(axis, hi, side="left")) + 2)
        idx = np.arange(i0, max(i1, i0 + 1))
        if idx.size > LUT_NODES:
            idx = np.unique(np.round(np.linspace(idx[0], idx[-1], LUT_NODES)).astype(int))
        return idx

    ti, ri = window(times, *span_t), window(ranges, *span_r)
    sub = values[np.ix_(ti, ri)]
    if np.all(sub == sub.flat[0]) and ti.size > 1 and ri.size > 1:
        ti, ri = ti[[0, -1]], ri[[0, -1]]
        sub = values[np.ix_(ti, ri)]
    return times[ti], ranges[ri], sub


def hdf5_vrt(file: Path, dataset: str, shape: tuple[int, int]) -> bytes:
    """A VRT whose one band is the HDF5 dataset (GDAL HDF5 driver), complex64."""
    from xml.sax.saxutils import escape

    lines, samples = shape
    source = escape(f'HDF5:"{file}"://{dataset.lstrip("/")}')
    return (f'<VRTDataset rasterXSize="{samples}" rasterYSize="{lines}">\n'
            f'  <VRTRasterBand dataType="CFloat32" band="1">\n'
            f'    <NoDataValue>0</NoDataValue>\n'
            f'    <SimpleSource>\n'
            f'      <SourceFilename relativeToVRT="0">{source}</SourceFilename>\n'
            f'      <SourceBand>1</SourceBand>\n'
            f'      <SrcRect xOff="0" yOff="0" xSize="{samples}" ySize="{lines}"/>\n'
            f'      <DstRect xOff="0" yOff="0" xSize="{samples}" ySize="{lines}"/>\n'
            f'    </SimpleSource>\n'
            f'  </VRTRasterBand>\n'
            f'</VRTDataset>\n').encode("utf-8")


def _gdal_reads_complex64(file: Path, dataset: str) -> bool:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(f'HDF5:"{file}"://{dataset.lstrip("/")}') as ds:
                return ds.count == 1 and np.dtype(ds.dtypes[0]) == np.complex64
    except RasterioError:
        return False


def import_nisar(path: str | Path, outdir: str | Path, *, frequency: str = "A",
                 polarization: str = "HH", name: str | None = None,
                 overwrite: bool = False) -> Path:
    """``pep import nisar``: write ``NAME.yaml`` (+ image) into ``outdir``.

    Parameters
    ----------
    path : path
        The RSLC HDF5 file.
    outdir : path
        Output folder (created).
    frequency, polarization : str
        Which image.
    name : str, optional
        File stem; default ``<file stem>_<frequency>_<pol>``.
    overwrite : bool
        Replace existing files.

    Returns
    -------
    Path
        The YAML written.

    Raises
    ------
    SceneError
        As :func:`read_nisar`; nothing is written then.
    """
    from peppers.importers.staging import write_import

    product = read_nisar(path, frequency, polarization)
    stem = name or f"{product.file.stem}_{frequency.upper()}_{polarization.upper()}"
    if _gdal_reads_complex64(product.file, product.dataset):
        return write_import(outdir, stem, product.scene, overwrite=overwrite,
                            vrt_xml=lambda _: hdf5_vrt(product.file, product.dataset,
                                                       product.scene.shape))
    image = _read_converted(product)
    return write_import(outdir, stem, product.scene, image=image, overwrite=overwrite)


def _read_converted(product: NisarProduct) -> np.ndarray:
    """The image as complex64, from any complex or (r, i) compound dtype."""
    import h5py

    with h5py.File(product.file, "r") as handle:
        data = handle[product.dataset]
        try:
            raw: Any = data[()]
        except OSError as error:
            raise SceneError(product.file, product.dataset, f"cannot be read: {error}") from None
    if raw.dtype.names:  # NISAR complex32: compound of two float16 ('r', 'i')
        re_name, im_name = raw.dtype.names[:2]
        return (raw[re_name].astype(np.float32) + 1j * raw[im_name].astype(np.float32)
                ).astype(np.complex64)
    return raw.astype(np.complex64)
