"""The GDAL VRT header of a raw image: build it and read it back.

A raw image is a flat binary file described by a one-band GDAL VRT of the
``VRTRawRasterBand`` kind (see ``docs/images.md``)::

    <VRTDataset rasterXSize="1500" rasterYSize="3000">
      <SRS>GEOGCS["WGS 84", ...]</SRS>                       (optional)
      <GeoTransform>-117.5, 0.0001, 0.0, 36.7, 0.0, -0.0001</GeoTransform>
      <VRTRasterBand dataType="CFloat32" band="1" subClass="VRTRawRasterBand">
        <NoDataValue>0</NoDataValue>                          (optional)
        <SourceFilename relativeToVRT="1">master.slc</SourceFilename>
        <ImageOffset>0</ImageOffset>
        <PixelOffset>8</PixelOffset>
        <LineOffset>12000</LineOffset>
        <ByteOrder>LSB</ByteOrder>
      </VRTRasterBand>
    </VRTDataset>

:func:`layout_to_xml` writes exactly this form; :func:`parse_vrt` reads it
and the variants GDAL itself accepts for one raw band (absolute source path,
missing offsets taken from GDAL's defaults, ``MSB`` byte order, pixel
interleaving with a larger ``PixelOffset``). Anything else (several bands,
mosaics of ``SimpleSource``) is not a raw image: :func:`parse_vrt` raises
:class:`~peppers.errors.ImageError`, and :func:`peppers.io.source.open_source`
reads such files through rasterio instead.

The module is pure text and arithmetic: no I/O on the raw file, no GDAL.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from peppers.errors import ImageError

#: GDAL data type name <-> numpy dtype (native byte order).
GDAL_TYPES: dict[str, np.dtype] = {
    "Byte": np.dtype("uint8"),
    "Int16": np.dtype("int16"),
    "UInt16": np.dtype("uint16"),
    "Int32": np.dtype("int32"),
    "UInt32": np.dtype("uint32"),
    "Float32": np.dtype("float32"),
    "Float64": np.dtype("float64"),
    "CFloat32": np.dtype("complex64"),
    "CFloat64": np.dtype("complex128"),
}
_GDAL_NAMES = {dtype: name for name, dtype in GDAL_TYPES.items()}


def gdal_type_name(dtype: Any) -> str:
    """The GDAL name of a numpy dtype, e.g. ``complex64`` -> ``CFloat32``.

    Raises
    ------
    ValueError
        If raw images cannot hold ``dtype``; the message lists those they can.
    """
    dtype = np.dtype(dtype).newbyteorder("=")
    try:
        return _GDAL_NAMES[dtype]
    except KeyError:
        allowed = ", ".join(str(d) for d in GDAL_TYPES.values())
        raise ValueError(f"raw images cannot hold dtype {dtype}; use one of: {allowed}") from None


@dataclass(frozen=True)
class RawLayout:
    """Where each pixel of a raw image lives, and what the header says about it.

    Attributes
    ----------
    shape : (int, int)
        ``(rows, cols)``.
    dtype : numpy dtype
        Pixel type in native byte order.
    source : Path
        The raw file, absolute.
    relative : bool
        Whether the VRT names the raw file relative to itself.
    byte_order : str
        ``"LSB"`` or ``"MSB"``.
    image_offset, pixel_offset, line_offset : int
        Byte offset of pixel (0, 0), between neighbouring pixels of a row,
        and between neighbouring rows.
    nodata : float, int or None
        The ``NoDataValue`` (NaN allowed).
    crs : str or None
        The ``SRS`` text (WKT).
    transform : tuple of 6 float or None
        The ``GeoTransform`` in GDAL order.
    """

    shape: tuple[int, int]
    dtype: np.dtype
    source: Path
    relative: bool = True
    byte_order: str = "LSB"
    image_offset: int = 0
    pixel_offset: int = 0
    line_offset: int = 0
    nodata: Any = None
    crs: str | None = None
    transform: tuple[float, ...] | None = None

    @property
    def file_dtype(self) -> np.dtype:
        """The dtype with the file's byte order (what is read and written)."""
        return self.dtype.newbyteorder("<" if self.byte_order == "LSB" else ">")

    @property
    def dense_rows(self) -> bool:
        """True if the pixels of a row are adjacent (``PixelOffset`` = item size)."""
        return self.pixel_offset == self.dtype.itemsize

    @property
    def contiguous(self) -> bool:
        """True if the whole image is one C-ordered block of bytes."""
        return self.dense_rows and self.line_offset == self.shape[1] * self.dtype.itemsize

    @property
    def required_size(self) -> int:
        """The smallest raw file size that holds every pixel, in bytes."""
        rows, cols = self.shape
        if rows == 0 or cols == 0:
            return self.image_offset
        return (self.image_offset + (rows - 1) * self.line_offset
                + (cols - 1) * self.pixel_offset + self.dtype.itemsize)

    def offset(self, row: int, col: int) -> int:
        """Byte offset of pixel ``(row, col)`` in the raw file."""
        return self.image_offset + row * self.line_offset + col * self.pixel_offset


def dense_layout(vrt_path: Path, raw_path: Path, shape: tuple[int, int], dtype: Any,
                 nodata: Any = None, geo: Mapping[str, Any] | None = None) -> RawLayout:
    """The layout peppers writes: row-major, little-endian, no gaps.

    Parameters
    ----------
    vrt_path, raw_path : Path
        The header and the raw file (raw file named relative to the header
        when they share a directory).
    shape, dtype, nodata
        As in :class:`~peppers.image.ImageSpec`.
    geo : mapping or None
        ``{"crs": <anything rasterio's CRS.from_user_input takes>,
        "transform": <6 floats in GDAL order, or an affine.Affine>}``.

    Raises
    ------
    ValueError
        For an unsupported dtype, a no-data value the dtype cannot hold, or a
        malformed ``geo``.
    """
    dtype = np.dtype(dtype)
    gdal_type_name(dtype)
    crs, transform = _normalise_geo(geo)
    itemsize = dtype.itemsize
    return RawLayout(
        shape=(int(shape[0]), int(shape[1])), dtype=dtype.newbyteorder("="),
        source=raw_path.resolve(), relative=raw_path.resolve().parent == vrt_path.resolve().parent,
        image_offset=0, pixel_offset=itemsize, line_offset=int(shape[1]) * itemsize,
        nodata=_check_nodata(nodata, dtype), crs=crs, transform=transform,
    )


def _normalise_geo(geo: Mapping[str, Any] | None) -> tuple[str | None, tuple[float, ...] | None]:
    if not geo:
        return None, None
    crs, transform = geo.get("crs"), geo.get("transform")
    wkt = None
    if crs is not None:
        from rasterio.crs import CRS  # only georeferenced images pay for the import

        wkt = CRS.from_user_input(crs).to_wkt()
    gt = None
    if transform is not None:
        if hasattr(transform, "to_gdal"):  # affine.Affine
            transform = transform.to_gdal()
        gt = tuple(float(v) for v in transform)
        if len(gt) != 6:
            raise ValueError(f"geo transform must have 6 numbers in GDAL order, got {len(gt)}")
    return wkt, gt


def _check_nodata(nodata: Any, dtype: np.dtype) -> Any:
    """The no-data value as GDAL stores it (a real number), or a clear error."""
    if nodata is None:
        return None
    value = complex(nodata)
    if value.imag != 0:
        raise ValueError(f"no-data value {nodata!r} has an imaginary part; GDAL stores only a real one")
    real = value.real
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if not (math.isfinite(real) and real == int(real) and info.min <= real <= info.max):
            raise ValueError(f"no-data value {nodata!r} does not fit dtype {dtype}")
        return int(real)
    return real


def _format_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    return repr(float(value))


def layout_to_xml(layout: RawLayout, vrt_path: Path) -> bytes:
    """The VRT document for ``layout``, as UTF-8 bytes ready to write."""
    rows, cols = layout.shape
    root = ET.Element("VRTDataset", rasterXSize=str(cols), rasterYSize=str(rows))
    if layout.crs is not None:
        ET.SubElement(root, "SRS").text = layout.crs
    if layout.transform is not None:
        ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in layout.transform)
    band = ET.SubElement(root, "VRTRasterBand", dataType=gdal_type_name(layout.dtype),
                         band="1", subClass="VRTRawRasterBand")
    if layout.nodata is not None:
        ET.SubElement(band, "NoDataValue").text = _format_number(layout.nodata)
    if layout.relative:
        name = os.path.relpath(layout.source, vrt_path.resolve().parent)
    else:
        name = str(layout.source)
    ET.SubElement(band, "SourceFilename", relativeToVRT="1" if layout.relative else "0").text = name
    for tag, value in (("ImageOffset", layout.image_offset), ("PixelOffset", layout.pixel_offset),
                       ("LineOffset", layout.line_offset), ("ByteOrder", layout.byte_order)):
        ET.SubElement(band, tag).text = str(value)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _int_field(band: ET.Element, tag: str, default: int, vrt_path: Path) -> int:
    text = band.findtext(tag)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ImageError(f"{vrt_path}: <{tag}> is {text.strip()!r}, not an integer") from None
    if value < 0:
        raise ImageError(f"{vrt_path}: <{tag}> is {value}; negative offsets are not supported")
    return value


def parse_vrt(vrt_path: str | os.PathLike, text: str | None = None) -> RawLayout:
    """Read the header of a raw image.

    Parameters
    ----------
    vrt_path : path-like
        The VRT file (used to resolve a relative source and in messages).
    text : str, optional
        The document, if already read.

    Returns
    -------
    RawLayout

    Raises
    ------
    ImageError
        If the file is missing, is not XML, or is not a one-band
        ``VRTRawRasterBand`` VRT of a supported type; the message names the
        file and the element at fault.
    """
    vrt_path = Path(vrt_path)
    if text is None:
        try:
            text = vrt_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ImageError(f"{vrt_path}: no such image header") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ImageError(f"{vrt_path}: cannot read image header: {exc}") from None
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ImageError(f"{vrt_path}: not a VRT header (XML error: {exc})") from None
    if root.tag != "VRTDataset":
        raise ImageError(f"{vrt_path}: root element is <{root.tag}>, expected <VRTDataset>")
    bands = root.findall("VRTRasterBand")
    if len(bands) != 1 or bands[0].get("subClass") != "VRTRawRasterBand":
        raise ImageError(f"{vrt_path}: not a raw image header (need exactly one "
                         f"VRTRasterBand with subClass=VRTRawRasterBand, found {len(bands)} band(s))")
    band = bands[0]
    try:
        shape = (int(root.get("rasterYSize", "")), int(root.get("rasterXSize", "")))
    except ValueError:
        raise ImageError(f"{vrt_path}: <VRTDataset> needs integer rasterXSize and rasterYSize") from None
    type_name = band.get("dataType", "Byte")
    if type_name not in GDAL_TYPES:
        raise ImageError(f"{vrt_path}: dataType {type_name!r} is not supported; "
                         f"use one of {', '.join(GDAL_TYPES)}")
    dtype = GDAL_TYPES[type_name]
    source = band.find("SourceFilename")
    if source is None or not (source.text or "").strip():
        raise ImageError(f"{vrt_path}: <SourceFilename> is missing")
    relative = source.get("relativeToVRT", "0").strip() == "1"
    raw = Path(source.text.strip())
    raw = (vrt_path.resolve().parent / raw) if relative else raw.resolve()
    order = (band.findtext("ByteOrder") or ("LSB" if np.little_endian else "MSB")).strip().upper()
    if order not in ("LSB", "MSB"):
        raise ImageError(f"{vrt_path}: <ByteOrder> {order!r} is not supported (LSB or MSB)")
    pixel = _int_field(band, "PixelOffset", dtype.itemsize, vrt_path)
    if pixel < dtype.itemsize:
        raise ImageError(f"{vrt_path}: <PixelOffset> {pixel} is smaller than one {type_name} "
                         f"pixel ({dtype.itemsize} bytes)")
    line = _int_field(band, "LineOffset", pixel * shape[1], vrt_path)
    nodata = None
    nodata_text = band.findtext("NoDataValue")
    if nodata_text is not None and nodata_text.strip():
        try:
            nodata = _check_nodata(float(nodata_text.strip()), dtype)
        except ValueError as exc:
            raise ImageError(f"{vrt_path}: <NoDataValue> {nodata_text.strip()!r}: {exc}") from None
    transform = None
    gt_text = root.findtext("GeoTransform")
    if gt_text is not None and gt_text.strip():
        try:
            transform = tuple(float(v) for v in gt_text.split(","))
        except ValueError:
            transform = ()
        if len(transform) != 6:
            raise ImageError(f"{vrt_path}: <GeoTransform> {gt_text.strip()!r} is not 6 numbers")
    crs_text = root.findtext("SRS")
    return RawLayout(
        shape=shape, dtype=dtype, source=raw, relative=relative, byte_order=order,
        image_offset=_int_field(band, "ImageOffset", 0, vrt_path), pixel_offset=pixel,
        line_offset=line, nodata=nodata,
        crs=crs_text.strip() if crs_text and crs_text.strip() else None, transform=transform,
    )
