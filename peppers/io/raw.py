"""Raw images: flat binary pixels plus a GDAL VRT header, read and written by region.

This is the format of every intermediate and stream-end image in peppers
(``docs/images.md``). ``name.vrt`` is a one-band ``VRTRawRasterBand`` header
(:mod:`peppers.io.vrt`) describing ``name.raw``: rows one after another,
little-endian, no gaps. GDAL, rasterio and QGIS open the VRT as it is.

Why this format
---------------
Every pixel has a fixed byte offset, so any thread or process can read or
write any tile at its place with positional I/O (``pread``/``pwrite``): no
shared file position, no lock, no block cache to corrupt. Disjoint tiles are
disjoint byte ranges, so many MPI ranks can write one image concurrently
(one GeoTIFF written by many processes is the classic way to corrupt it).
The raw file is allocated at full size when the image is created (a sparse
``ftruncate``), so a rank may write the last tile first; pixels never
written read as zero.

Durability
----------
:meth:`RawImage.create` puts the raw file in place first and then the VRT
atomically, so a header on disk always has its full-size raw file. Pixel
writes become durable on :meth:`RawImage.flush` (``fdatasync``); the tile
journal relies on that: a tile's ``done`` line is written only after the
image holding it was flushed.

Memory: :meth:`RawImage.read` and :meth:`RawImage.write` touch only the
requested region: one positional read straight into the result array for a
full-width region, one per row otherwise.

Threads: every transfer releases the GIL. The rows of a region narrower
than the image are read or written by one compiled loop of ``pread``/
``pwrite`` calls (:mod:`peppers.io._raw_kernels`), not a Python loop, so
the tile engine's worker threads never wait for each other's I/O.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from peppers.errors import ImageError, ImageMismatchError
from peppers.image import ImageSpec, Region
from peppers.io import _raw_kernels as _kernels
from peppers.io.atomic import atomic_write_bytes, fsync_dir
from peppers.io.vrt import RawLayout, dense_layout, layout_to_xml, parse_vrt

#: Suffixes a VRT's stem may already carry to name its raw file
#: (``master.slc.vrt`` describes ``master.slc``); otherwise ``.raw`` is added.
RAW_SUFFIXES = (".raw", ".slc", ".bin", ".dat", ".img")


def raw_path_for(vrt_path: str | os.PathLike) -> Path:
    """The raw file beside a VRT: ``a.vrt`` -> ``a.raw``, ``a.slc.vrt`` -> ``a.slc``.

    Raises
    ------
    ImageError
        If ``vrt_path`` does not end in ``.vrt``.
    """
    vrt_path = Path(vrt_path)
    if vrt_path.suffix.lower() != ".vrt":
        raise ImageError(f"{vrt_path}: a raw image header must be named *.vrt")
    stem = vrt_path.with_suffix("")
    return stem if stem.suffix.lower() in RAW_SUFFIXES else stem.with_name(stem.name + ".raw")


def check_region(region: Region, shape: tuple[int, int], name: Any) -> None:
    """Raise :class:`ImageMismatchError` unless ``region`` lies inside ``shape``."""
    if not Region.full(shape).contains(region):
        raise ImageMismatchError(
            f"{name}: {region!r} is outside the image "
            f"of shape {shape}; clip it first")


def _view_bytes(array: np.ndarray) -> memoryview:
    """A writable byte view of a C-contiguous array (no copy)."""
    return memoryview(array.reshape(-1).view(np.uint8))


class RawImage:
    """A raw image on disk, open for positional reads (and writes with ``"r+"``).

    Create one with :meth:`create` or open one with :meth:`open`; do not call
    the constructor directly. Instances are thread-safe (positional I/O on one
    descriptor) and picklable (a copy reopens the file by path in the other
    process, in the same mode).

    Attributes
    ----------
    spec : ImageSpec
        Shape, dtype, no-data value and georeferencing from the header.
    path : Path
        The VRT header.
    raw_path : Path
        The raw pixel file.
    mode : str
        ``"r"`` or ``"r+"``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from peppers.image import ImageSpec
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with RawImage.create(d / "ifg.vrt", ImageSpec((4, 6), "complex64", nodata=0)) as img:
    ...     img.write(Region(1, 2, 2, 3), np.full((2, 3), 1 + 2j, "complex64"))
    ...     img.flush()
    >>> RawImage.open(d / "ifg.vrt").read(Region(1, 1, 1, 3))
    array([[0.+0.j, 1.+2.j, 1.+2.j]], dtype=complex64)
    """

    def __init__(self, vrt_path: Path, layout: RawLayout, mode: str) -> None:
        if mode not in ("r", "r+"):
            raise ValueError(f"{vrt_path}: mode must be 'r' or 'r+', got {mode!r}")
        if mode == "r+" and not layout.dense_rows:
            raise ImageError(f"{vrt_path}: pixel-interleaved raw images (PixelOffset "
                             f"{layout.pixel_offset}) can only be opened for reading")
        self.path = Path(vrt_path)
        self.raw_path = layout.source
        self.mode = mode
        self._layout = layout
        self._native = layout.dtype
        geo = None
        if layout.crs is not None or layout.transform is not None:
            geo = {"crs": layout.crs, "transform": layout.transform}
        self.spec = ImageSpec(layout.shape, layout.dtype, layout.nodata, geo)
        flags = (os.O_RDONLY if mode == "r" else os.O_RDWR) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.raw_path, flags)
        except FileNotFoundError:
            raise ImageError(f"{self.raw_path}: raw file named by {self.path} does not exist") from None
        except OSError as exc:
            raise ImageError(f"{self.raw_path}: cannot open ({exc.strerror})") from None
        size = os.fstat(fd).st_size
        if size < layout.required_size:
            os.close(fd)
            raise ImageError(
                f"{self.raw_path}: truncated image: {self.path} needs {layout.required_size} "
                f"bytes, the file has {size}")
        self._fd = fd
        self._close = weakref.finalize(self, os.close, fd)

    # -- construction ---------------------------------------------------------
    @classmethod
    def create(cls, vrt_path: str | os.PathLike, spec: ImageSpec, *, overwrite: bool = False,
               raw_path: str | os.PathLike | None = None) -> "RawImage":
        """Create a new image: allocate the raw file, then write the VRT atomically.

        Parameters
        ----------
        vrt_path : path-like
            The header to write, ``*.vrt``.
        spec : ImageSpec
            Shape, dtype (Byte, (U)Int16, (U)Int32, Float32/64, CFloat32/64),
            no-data value, and optional ``geo`` (``crs``, ``transform``).
        overwrite : bool
            Replace an existing image (its pixels become zero); otherwise an
            existing header or raw file is an error.
        raw_path : path-like, optional
            The raw file; default :func:`raw_path_for` ``(vrt_path)``.

        Returns
        -------
        RawImage
            Open in mode ``"r+"``.

        Raises
        ------
        ImageError
            If the image exists and ``overwrite`` is false, or the files cannot
            be written.
        ImageMismatchError
            For a dtype, no-data value or ``geo`` a raw image cannot hold
            (also a ``ValueError``; names the file).
        """
        vrt_path = Path(vrt_path)
        raw = Path(raw_path) if raw_path is not None else raw_path_for(vrt_path)
        try:
            layout = dense_layout(vrt_path, raw, spec.shape, spec.dtype, spec.nodata, spec.geo)
        except ValueError as exc:
            raise ImageMismatchError(f"{vrt_path}: {exc}") from None
        if not overwrite:
            for existing in (vrt_path, raw):
                if existing.exists():
                    raise ImageError(f"{existing}: image exists; pass overwrite=True to replace it")
        try:
            fd = os.open(raw, os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
            try:
                os.ftruncate(fd, layout.required_size)
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(raw.resolve().parent)
            atomic_write_bytes(vrt_path, layout_to_xml(layout, vrt_path))
        except OSError as exc:
            raise ImageError(f"{vrt_path}: cannot create image ({exc})") from None
        return cls(vrt_path, layout, "r+")

    @classmethod
    def open(cls, vrt_path: str | os.PathLike, mode: str = "r") -> "RawImage":
        """Open an existing raw image by its VRT header.

        Parameters
        ----------
        vrt_path : path-like
            A one-band ``VRTRawRasterBand`` VRT (ours, or the scene format's
            ``NAME.slc.vrt``).
        mode : {"r", "r+"}
            Read only, or read and write.

        Raises
        ------
        ImageError
            If the header is not a raw image header, the raw file is missing,
            or it is shorter than the header says (names the file, the
            expected and the actual size).
        """
        return cls(Path(vrt_path), parse_vrt(vrt_path), mode)

    def __reduce__(self):
        return (type(self).open, (str(self.path), self.mode))

    # -- I/O -----------------------------------------------------------------
    def read(self, region: Region) -> np.ndarray:
        """Read ``region`` (inside the image) into a new array of ``spec.dtype``.

        Raises
        ------
        ImageMismatchError
            If the region is not inside the image.
        ImageError
            If the image is closed or the raw file shrank since it was opened.
        """
        fd = self._descriptor()
        check_region(region, self.spec.shape, self.path)
        layout = self._layout
        out = np.empty(region.shape, dtype=layout.file_dtype)
        if region.is_empty:
            return out.astype(self._native, copy=False)
        if layout.contiguous and region.width == layout.shape[1]:
            self._pread(fd, _view_bytes(out), layout.offset(region.row, 0))
        elif layout.dense_rows:
            failed = _kernels.transfer_rows(fd, out.view(np.uint8),
                                            layout.offset(region.row, region.col),
                                            layout.line_offset, False)
            # a failed row (the kernel cannot see errno) is read again here: that raises
            for i in range(region.height if failed < 0 else failed, region.height):
                self._pread(fd, _view_bytes(out[i]), layout.offset(region.row + i, region.col))
        else:
            span = (region.width - 1) * layout.pixel_offset + layout.dtype.itemsize
            buf = np.empty(span, np.uint8)
            for i in range(region.height):
                self._pread(fd, memoryview(buf), layout.offset(region.row + i, region.col))
                out[i] = np.ndarray((region.width,), layout.file_dtype, buf, 0,
                                    (layout.pixel_offset,))
        return out.astype(self._native, copy=False)

    def write(self, region: Region, array: np.ndarray) -> None:
        """Write ``array`` into ``region`` with positional writes.

        Safe from many threads and processes at once for disjoint regions.

        Parameters
        ----------
        region : Region
            Inside the image.
        array : ndarray
            Shape ``region.shape``; dtype ``spec.dtype`` or one that casts to it
            safely (e.g. int16 into float32).

        Raises
        ------
        ImageMismatchError
            Wrong shape or dtype, or a region outside the image (names the file).
        ImageError
            If the image is closed or open read-only.
        """
        fd = self._descriptor()
        if self.mode != "r+":
            raise ImageError(f"{self.path}: opened read-only; open with mode='r+' to write")
        check_region(region, self.spec.shape, self.path)
        array = np.asarray(array)
        if array.shape != region.shape:
            raise ImageMismatchError(f"{self.path}: array of shape {array.shape} does not fit "
                                     f"{region!r} of shape {region.shape}")
        if array.dtype != self._native and not np.can_cast(array.dtype, self._native, "safe"):
            raise ImageMismatchError(f"{self.path}: cannot write {array.dtype} pixels into a "
                                     f"{self._native} image without losing precision; "
                                     f"convert with .astype({str(self._native)!r}) first")
        if region.is_empty:
            return
        layout = self._layout
        data = np.ascontiguousarray(array, dtype=layout.file_dtype)
        if layout.contiguous and region.width == layout.shape[1]:
            self._pwrite(fd, _view_bytes(data), layout.offset(region.row, 0))
        else:
            failed = _kernels.transfer_rows(fd, data.view(np.uint8),
                                            layout.offset(region.row, region.col),
                                            layout.line_offset, True)
            # a failed row (the kernel cannot see errno) is written again here: that raises
            for i in range(region.height if failed < 0 else failed, region.height):
                self._pwrite(fd, _view_bytes(data[i]), layout.offset(region.row + i, region.col))

    def flush(self) -> None:
        """Make every write so far durable (``fdatasync`` of the raw file).

        Raises
        ------
        OSError
            Naming the raw file (a full disk shows up here or in :meth:`write`).
        """
        try:
            os.fdatasync(self._descriptor())
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.raw_path)) from None

    def close(self) -> None:
        """Close the raw file (idempotent); call it after every thread is done with it.

        Writes not yet flushed stay in the operating system's page cache and
        reach the disk later; call :meth:`flush` first for durability.
        """
        self._close()

    @property
    def closed(self) -> bool:
        return not self._close.alive

    def __enter__(self) -> "RawImage":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.mode
        return (f"RawImage({str(self.path)!r}, shape={self.spec.shape}, "
                f"dtype={self.spec.dtype}, {state})")

    # -- internals -------------------------------------------------------------
    def _descriptor(self) -> int:
        if not self._close.alive:
            raise ImageError(f"{self.path}: image is closed")
        return self._fd

    def _pread(self, fd: int, view: memoryview, offset: int) -> None:
        while view:
            n = os.preadv(fd, [view], offset)
            if n == 0:
                raise ImageError(f"{self.raw_path}: truncated image: nothing to read at byte "
                                 f"{offset} (the file shrank after it was opened)")
            view, offset = view[n:], offset + n

    def _pwrite(self, fd: int, view: memoryview, offset: int) -> None:
        """Write all of ``view`` at ``offset``; an error (disk full) names the raw file."""
        try:
            while view:
                n = os.pwrite(fd, view, offset)
                view, offset = view[n:], offset + n
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.raw_path)) from None
