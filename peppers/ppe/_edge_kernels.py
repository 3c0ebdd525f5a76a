"""Numba kernel of :mod:`peppers.ppe.edges`: build a request that reaches outside the image.

A request is described by two *maps*, one per axis: for every row (column)
of the requested region, the image row (column) whose pixel it takes --
mirrored for ``reflect`` -- or ``-1`` when the pixel lies outside the image
and takes the fill value (``constant``/``nodata``). :func:`remap` copies
the pixels of one stored piece of the image (an upstream tile, or the
region read from a stored source) to every place of the request that maps
into that piece, so a request covered by several tiles is built with one
call per tile, straight from the tiles: no intermediate assembled array,
no second pass for the fill, no index arrays the size of the request, and
the GIL released throughout (numpy fancy indexing would hold it while it
builds its index).

Private: :func:`peppers.ppe.edges.fill` and :func:`peppers.ppe.edges.fill_from`
compute the maps and check shapes.
"""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True)
def remap(out, piece, rows, cols, row0, col0, value, first):
    """Copy ``piece`` into ``out`` through the axis maps; fill outside pixels.

    Parameters
    ----------
    out : ndarray (h, w)
        The request; written where the maps point into ``piece``.
    piece : ndarray (ph, pw)
        Pixels of the image region whose top-left pixel is ``(row0, col0)``.
    rows : ndarray (h,) of int64
        Image row of each request row, or -1 for a row outside the image.
    cols : ndarray (w,) of int64
        Image column of each request column, or -1 outside.
    row0, col0 : int
        Image position of ``piece[0, 0]``.
    value : ndarray (1,) of ``out.dtype``
        The fill value.
    first : bool
        Also write the fill value to every outside pixel (do it with the
        first piece of a request, once).
    """
    h, w = out.shape
    ph, pw = piece.shape
    fill = value[0]
    for i in range(h):
        r = rows[i]
        orow = out[i]
        if r < 0:
            if first:
                for j in range(w):
                    orow[j] = fill
            continue
        r -= row0
        if r < 0 or r >= ph:
            if first:
                for j in range(w):
                    if cols[j] < 0:
                        orow[j] = fill
            continue
        prow = piece[r]
        for j in range(w):
            c = cols[j]
            if c < 0:
                if first:
                    orow[j] = fill
                continue
            c -= col0
            if 0 <= c < pw:
                orow[j] = prow[c]
