"""SNAPHU (Chen & Zebker) through snaphu-py, for users who want it.

An optional solver: ``insar.unwrap.method: snaphu`` runs the statistical-cost
network-flow unwrapper SNAPHU 2 (Chen & Zebker 2001, 2002) through the
``snaphu`` package (snaphu-py, installed with ``pip install 'peppers[unwrap]'``),
with SNAPHU's ``smooth`` cost mode (the right model for a differential or
topography-removed interferogram) and MCF initialisation. The pixels to
unwrap (finite phase, coherence at or above the threshold, components of at
least ``min_component_size`` pixels, see :mod:`.masks`) are passed as its
mask; its connected components are returned as the components, and pixels
it leaves in component 0 are not unwrapped. It is not the default: the
project's own :func:`.mcf.unwrap_mcf` is as accurate on the benchmark's
cases and far faster (``docs/unwrapping.md``).
"""

from __future__ import annotations

import numpy as np

from peppers.errors import OperatorError
from peppers.operators.unwrap.masks import prepare

#: What to install when snaphu-py is missing.
INSTALL_HINT = "pip install 'peppers[unwrap]' (or pip install snaphu)"


def unwrap_snaphu(data: np.ndarray, coherence: np.ndarray | None = None, *,
                  threshold: float = 0.0, nlooks: float = 1.0, min_component_size: int = 50,
                  nodata: complex | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap with SNAPHU (snaphu-py, ``cost="smooth"``, ``init="mcf"``).

    Parameters
    ----------
    data : ndarray (M, N)
        Complex interferogram or wrapped phase (radians).
    coherence : ndarray (M, N), optional
        Coherence in [0, 1] (None: 1 everywhere); NaN counts as 0.
    threshold : float
        Pixels with coherence below it are masked.
    nlooks : float
        Equivalent number of looks (SNAPHU's cost model).
    min_component_size : int
        Smallest component unwrapped (also SNAPHU's ``min_region_size``).
    nodata : scalar, optional
        No-data value of ``data``.

    Returns
    -------
    unwrapped : float32 ndarray
        NaN where not unwrapped.
    components : int32 ndarray
        SNAPHU's connected components, 0 where not unwrapped.

    Raises
    ------
    OperatorError
        If snaphu-py is not installed.

    References
    ----------
    Chen, C. W. & Zebker, H. A. (2001). JOSA A 18(2), 338-351.
    Chen, C. W. & Zebker, H. A. (2002). IEEE TGRS 40(8), 1709-1719.
    """
    try:
        import snaphu
    except ImportError:
        raise OperatorError(f"insar.unwrap.method snaphu needs snaphu-py, which is not "
                            f"installed: {INSTALL_HINT}") from None
    psi, components, psi0 = prepare(data, coherence, threshold, min_component_size, nodata)
    mask = components > 0
    if not mask.any():
        return np.full(psi.shape, np.nan, np.float32), np.zeros(psi.shape, np.int32)
    igram = np.where(mask, np.exp(1j * psi0), 0).astype(np.complex64)
    corr = np.ones(psi.shape, np.float32) if coherence is None else \
        np.clip(np.nan_to_num(np.asarray(coherence, np.float32)), 0.0, 1.0)
    unw, conncomp = snaphu.unwrap(igram, corr, nlooks=max(float(nlooks), 1.0), cost="smooth",
                                  init="mcf", mask=mask,
                                  min_region_size=max(int(min_component_size), 1))
    comps = np.where(mask, np.asarray(conncomp), 0).astype(np.int32)
    return np.where(comps > 0, np.asarray(unw, np.float32), np.nan).astype(np.float32), comps
