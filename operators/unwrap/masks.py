"""Which pixels are unwrapped, and how they group.

A pixel is *valid* when its wrapped phase and coherence are finite and the
coherence reaches the threshold. Valid pixels form *connected components*
(4-connectivity, the connectivity along which phase is integrated); each
component is unwrapped up to its own constant, and components smaller than
``min_size`` are not unwrapped at all (label 0).

Invalid pixels form *regions* (8-connectivity, so that two invalid pixels of
one 2 x 2 loop always share a region). The network-flow solver collapses
each region into one node: a region touching the image edge becomes part of
the *earth* node (label 0), an enclosed region a *hole* node (labels 1..H)
through which flow passes at no cost but whose net charge must leave by a
cut across valid pixels.

Both labellings run in a numba kernel that releases the GIL
(:mod:`._label_kernels`, numbering as ``scipy.ndimage.label``), so that
tiles in threads do not queue for it.
"""

from __future__ import annotations

import numpy as np
from peppers.errors import ImageMismatchError
from peppers.operators.unwrap._label_kernels import label


def wrapped_phase(data: np.ndarray, nodata: complex | float | None = None) -> np.ndarray:
    """Wrapped phase of an interferogram (complex) or a phase image (real).

    Parameters
    ----------
    data : ndarray of shape (M, N)
        Complex interferogram or real phase in radians.
    nodata : scalar, optional
        Value marking missing pixels; they become NaN (as do complex zeros
        and non-finite values).

    Returns
    -------
    ndarray of shape (M, N), float64
        Phase wrapped into ``(-pi, pi]``, NaN where missing.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise ImageMismatchError(f"unwrapping needs a 2-D image, got shape {data.shape}")
    missing = ~np.isfinite(data)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        missing |= data == nodata
    if np.iscomplexobj(data):
        missing |= data == 0
        psi = np.angle(data).astype(np.float64)
    else:
        psi = np.angle(np.exp(1j * data.astype(np.float64)))
    psi[missing] = np.nan
    return psi


def valid_mask(psi: np.ndarray, coherence: np.ndarray | None, threshold: float) -> np.ndarray:
    """Pixels to unwrap: finite phase and coherence at or above ``threshold``.

    Parameters
    ----------
    psi : ndarray of shape (M, N)
        Wrapped phase, NaN where missing.
    coherence : ndarray of shape (M, N) or None
        Coherence in [0, 1]; None means all 1.
    threshold : float
        Minimum coherence.

    Returns
    -------
    ndarray of bool, shape (M, N)

    Raises
    ------
    ImageMismatchError
        If the coherence shape differs from the phase shape.
    """
    valid = np.isfinite(psi)
    if coherence is not None:
        coherence = np.asarray(coherence)
        if coherence.shape != psi.shape:
            raise ImageMismatchError(f"coherence shape {coherence.shape} differs from "
                                     f"interferogram shape {psi.shape}")
        with np.errstate(invalid="ignore"):
            valid &= np.isfinite(coherence) & (coherence >= threshold)
    return valid


def connected_components(valid: np.ndarray, min_size: int = 1) -> np.ndarray:
    """Label the 4-connected components of ``valid``, dropping small ones.

    Parameters
    ----------
    valid : ndarray of bool, shape (M, N)
    min_size : int
        Components with fewer pixels get label 0.

    Returns
    -------
    ndarray of int32, shape (M, N)
        0 outside components, 1..K inside, numbered by decreasing size
        (ties by first pixel in raster order).

    Examples
    --------
    >>> connected_components(np.array([[1, 0, 1, 1]], bool))
    array([[2, 0, 1, 1]], dtype=int32)
    """
    labels, count = label(np.ascontiguousarray(valid, np.bool_), False)
    if count == 0:
        return labels.astype(np.int32)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    order = np.argsort(-sizes[1:], kind="stable") + 1
    new = np.zeros(count + 1, np.int32)
    keep = order[sizes[order] >= min_size]
    new[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    return new[labels]


def invalid_regions(valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected regions of invalid pixels for the flow network.

    Parameters
    ----------
    valid : ndarray of bool, shape (M, N)

    Returns
    -------
    labels : ndarray of int32, shape (M, N)
        -1 on valid pixels, 0 on invalid regions that touch the image edge
        (the earth), 1..H on enclosed holes.
    holes : int
        H.
    """
    labels, count = label(~np.asarray(valid, np.bool_), True)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    new = np.full(count + 1, -1, np.int64)
    is_edge = np.zeros(count + 1, bool)
    is_edge[edge] = True
    inner = np.nonzero(~is_edge[1:])[0] + 1
    new[inner] = np.arange(1, inner.size + 1)
    new[edge[edge > 0]] = 0
    out = new[labels].astype(np.int32)
    return out, int(inner.size)


def component_sizes(components: np.ndarray) -> np.ndarray:
    """Pixel count of every component label (index 0 = not unwrapped)."""
    return np.bincount(components.ravel())


def prepare(data: np.ndarray, coherence: np.ndarray | None, threshold: float,
            min_component_size: int, nodata: complex | float | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first step of every solver: wrapped phase, components, phase zeroed outside.

    Returns
    -------
    psi : float64 ndarray
        Wrapped phase, NaN where missing.
    components : int32 ndarray
        Component labels (:func:`connected_components` of :func:`valid_mask`).
    psi0 : float64 ndarray
        ``psi`` on component pixels, 0 elsewhere.
    """
    psi = wrapped_phase(data, nodata)
    components = connected_components(valid_mask(psi, coherence, threshold), min_component_size)
    return psi, components, np.where(components > 0, psi, 0.0)
