"""Numba kernels of :mod:`peppers.io.raw`: positional I/O of a tile, row by row, without the GIL.

Why a kernel
------------
A tile narrower than the image is a set of rows at a fixed stride in the
raw file: one ``pread``/``pwrite`` per row (512 for a 512 x 512 tile). Done
from Python, every row costs a slice, a ``memoryview`` and a call with the
GIL held -- about a millisecond of GIL per tile, which the other worker
threads of the tile engine wait for. This kernel makes the same system
calls (``pread(2)``/``pwrite(2)`` from the C library, bound by symbol name
through :class:`numba.types.ExternalFunction`) in one compiled loop with
the GIL released, so a thread doing I/O never holds up a thread computing.

:func:`transfer_rows` loops until every byte of a row is transferred (short
reads and writes are legal) and returns the index of the first row that
failed (the call returned -1, or 0 bytes: end of file), or -1 when all rows
are done. The caller repeats that row with :mod:`os` to raise the proper error:
``errno`` is not visible here.

Private: :class:`peppers.io.raw.RawImage` checks regions, dtypes and
contiguity first.
"""

from __future__ import annotations

import numba
from numba import types

#: ``ssize_t pread(int fd, void *buf, size_t count, off_t offset)``; the
#: buffer address is passed as an integer of pointer width.
_pread = types.ExternalFunction("pread", types.intp(types.intc, types.uintp, types.uintp,
                                                    types.int64))
#: ``ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)``.
_pwrite = types.ExternalFunction("pwrite", types.intp(types.intc, types.uintp, types.uintp,
                                                      types.int64))


@numba.njit(nogil=True, cache=True)
def transfer_rows(fd, array, offset, stride, write):
    """Read (or write) the rows of ``array`` at file offsets ``offset + i * stride``.

    Parameters
    ----------
    fd : int
        Open file descriptor (open for writing when ``write``).
    array : ndarray (h, w), rows C-contiguous
        Receives the pixels, or gives them when ``write``; row ``i`` is
        ``w * itemsize`` bytes.
    offset : int
        Byte offset of row 0 in the file.
    stride : int
        Bytes from one row to the next in the file.
    write : bool
        ``pwrite`` the rows instead of ``pread``-ing them.

    Returns
    -------
    int
        -1 when every row was transferred, else the first row that failed
        (an error, end of file, or a call that made no progress).
    """
    nbytes = array.shape[1] * array.itemsize
    base = array.ctypes.data
    step = array.strides[0]
    for i in range(array.shape[0]):
        done = 0
        while done < nbytes:
            address = base + i * step + done
            at = offset + i * stride + done
            if write:
                n = _pwrite(fd, address, nbytes - done, at)
            else:
                n = _pread(fd, address, nbytes - done, at)
            if n <= 0:
                return i
            done += n
    return -1
