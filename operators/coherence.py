"""Coherence estimation, slope-compensated, and the statistics to judge it.

Design
------
The sample coherence of two co-registered SLCs ``m`` and ``s`` over a
window of ``N`` pixels is (Touzi et al. 1999, eq. 1)::

    gamma_hat = |sum m s* exp(-j phi)| / sqrt(sum |m|^2 sum |s|^2)

with ``phi`` every deterministic phase inside the window. The flat-earth
phase is removed when the interferogram is formed
(:mod:`peppers.operators.interferogram`); what is left is the topographic
fringe, which inside a 5 x 25 window can turn by several radians and bias
the estimate down (Lopez-Martinez & Pottier 2007). :class:`Coherence`
removes it as the 1999 InSAR-Peppers design does: the local fringe
frequency ``(f_r, f_c)`` measured from the 2-D spectrum peak
(:class:`peppers.operators.slope.FringeSlope`) is demodulated from the
window, centred on the output pixel, before summing.

The estimator is biased upwards at low coherence, more so for small
windows. :func:`expected_sample_coherence` gives its expected value
``E|gamma_hat|`` for ``N`` independent samples and true coherence ``D``
(Touzi et al. 1999, eq. 19; Nadarajah 2007)::

    E|gamma_hat| = Gamma(N) Gamma(3/2) / Gamma(N + 1/2) (1 - D^2)^N
                   3F2(3/2, N, N; N + 1/2, 1; D^2)

SciPy has no ``3F2``; Euler's integral turns it into one of ``2F1``,
``3F2(3/2, N, N; N + 1/2, 1; z) = Gamma(N + 1/2) / (Gamma(3/2) Gamma(N - 1))
int_0^1 t^(1/2) (1 - t)^(N - 2) 2F1(N, N; 1; z t) dt`` (DLMF 16.5.2), and
Euler's transformation ``2F1(N, N; 1; x) = (1 - x)^(1 - 2N) 2F1(1 - N, 1 - N;
1; x)`` (DLMF 15.8.1) keeps the integrand free of overflow. So::

    E|gamma_hat| = (N - 1) int_0^1 t^(1/2) (1 - t)^(N - 2) (1 - D^2)^N
                   (1 - D^2 t)^(1 - 2N) 2F1(1 - N, 1 - N; 1; D^2 t) dt

integrated by :func:`scipy.integrate.quad` with
:func:`scipy.special.hyp2f1`. It reproduces the values of the reference
notes (5 x 5 window: 0.178, 0.512, 0.802 at D = 0, 0.5, 0.8).

Edges: ``constant`` (zero). Zero pixels (the no-data of SLCs) add nothing to
any sum, so a window reaching past the image edge simply has fewer samples;
mirroring would fold the fringe back on itself and defeat the compensation.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _coherence_kernels as kernels
from peppers.operators._arrays import complex_dtype, positive_pair, prepare_input, working_dtype

__all__ = ["Coherence", "expected_sample_coherence", "phase_crb"]


def expected_sample_coherence(gamma: float, n: float) -> float:
    """Expected value of the sample coherence magnitude (Touzi et al. 1999).

    Parameters
    ----------
    gamma : float
        True coherence ``D`` in ``[0, 1]``.
    n : float
        Number of independent samples in the window, ``N >= 1``
        (non-integer equivalent numbers of looks are allowed for ``N > 1``).

    Returns
    -------
    float
        ``E|gamma_hat|``; 1 for ``N = 1`` or ``gamma = 1``.

    Raises
    ------
    ValueError
        If ``gamma`` is outside ``[0, 1]`` or ``n < 1``.

    References
    ----------
    .. [1] R. Touzi, A. Lopes, J. Bruniquel, P. W. Vachon, "Coherence
       estimation for SAR imagery", IEEE TGRS 37(1):135-149, 1999, eq. (19).
    .. [2] S. Nadarajah, "Comments on 'Coherence estimation for SAR
       imagery'", IEEE GRSL 4(3):368, 2007.
    .. [3] NIST DLMF 16.5.2 (Euler integral of 3F2) and 15.8.1 (Euler's
       transformation of 2F1).

    Examples
    --------
    >>> [round(expected_sample_coherence(g, 25), 3) for g in (0.0, 0.5, 0.8)]
    [0.178, 0.512, 0.802]
    """
    from scipy import integrate, special

    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"true coherence must be in [0, 1], got {gamma!r}")
    if not n >= 1:
        raise ValueError(f"number of samples must be >= 1, got {n!r}")
    if n == 1 or gamma == 1.0:
        return 1.0
    d2 = gamma * gamma
    log_scale = n * math.log1p(-d2)

    def integrand(t: float) -> float:
        x = d2 * t
        return (math.sqrt(t) * (1.0 - t) ** (n - 2)
                * math.exp(log_scale + (1.0 - 2.0 * n) * math.log1p(-x))
                * special.hyp2f1(1.0 - n, 1.0 - n, 1.0, x))

    value, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=0.0, epsrel=1e-11, limit=200)
    return float((n - 1.0) * value)


def phase_crb(gamma: float, looks: float) -> float:
    """Cramer-Rao bound of the interferometric phase standard deviation, radians.

    ``sigma = sqrt((1 - gamma^2) / (2 L gamma^2))`` for ``L`` independent
    looks; a good approximation of the multilooked phase scatter for
    ``gamma`` near 1 and large ``L``.

    Parameters
    ----------
    gamma : float
        True coherence, ``0 < gamma <= 1``.
    looks : float
        Independent looks ``L > 0``.

    Returns
    -------
    float

    References
    ----------
    .. [1] E. Rodriguez, J. M. Martin, "Theory and design of interferometric
       synthetic aperture radars", IEE Proc. F 139(2):147-159, 1992, eq. 25.
    .. [2] R. F. Hanssen, *Radar Interferometry*, Kluwer 2001, eq. 4.2.32.

    Examples
    --------
    >>> round(phase_crb(0.8, 20), 3)
    0.119
    """
    if not 0.0 < gamma <= 1.0 or not looks > 0:
        raise ValueError(f"need 0 < gamma <= 1 and looks > 0, got {gamma!r}, {looks!r}")
    return math.sqrt((1.0 - gamma * gamma) / (2.0 * looks * gamma * gamma))


class Coherence(LocalOperator):
    """Sample coherence over a window, with the local fringe removed.

    Inputs: ``interferogram`` (the flattened ``m s*``), ``master`` and
    ``slave`` (the two co-registered SLCs, for the powers), and
    ``slope_rows``/``slope_cols`` (local fringe frequency in cycles per
    pixel along azimuth and range, as made by
    :class:`~peppers.operators.slope.FringeSlope`). Output ``output``:
    ``float32`` coherence in ``[0, 1]`` on the interferogram's grid.

    Parameters
    ----------
    window : tuple of int
        Estimation window ``(rows, cols)``, odd sizes (1999 design: 5 x 5
        to 5 x 25; ISCE2: 5). Default ``(5, 5)``.
    slope_compensation : bool
        Demodulate the local fringe inside the window (default True). When
        False the slope inputs are read but not used.

    Raises
    ------
    ValueError
        If a window size is even or below 1.
    OperatorError
        From :meth:`output_spec` if the inputs differ in shape or are not
        complex.

    Notes
    -----
    Cost ``3 rows cols`` multiply-adds per pixel; see
    :mod:`peppers.operators._coherence_kernels`. The estimate is biased
    (see :func:`expected_sample_coherence`); it is not corrected here.

    References
    ----------
    .. [1] R. Touzi et al., "Coherence estimation for SAR imagery", IEEE
       TGRS 37(1):135-149, 1999.
    .. [2] C. Lopez-Martinez, E. Pottier, "Coherence estimation in
       synthetic aperture radar data based on speckle noise modeling",
       Applied Optics 46(4):544-558, 2007 (topographic bias).
    .. [3] A. Taylor et al., "Operational interferometric SAR data
       processing for RADARSAT using a distributed computing environment",
       GeoComputation 99 (slope-compensated coherence, 5 x 5 to 5 x 25).
    """

    name: ClassVar[str] = "coherence"
    edge_mode: ClassVar[str] = "constant"
    inputs: ClassVar[tuple[str, ...]] = ("interferogram", "master", "slave",
                                         "slope_rows", "slope_cols")
    params = (Param("window", tuple, (5, 5), "estimation window (rows, cols), odd",
                    key="insar.coherence.window", ge=1),
              Param("slope_compensation", bool, True,
                    "remove the local fringe inside the window",
                    key="insar.coherence.slope_compensation"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.window = positive_pair(self.label, "window", self.window)
        if self.window[0] % 2 == 0 or self.window[1] % 2 == 0:
            raise ValueError(f"{self.label}: window must have odd sizes so that it is "
                             f"centred on the pixel, got {self.window}")
        self.halo = (self.window[0] // 2, self.window[1] // 2)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        ref = input_specs["interferogram"]
        for port in self.inputs:
            spec = input_specs[port]
            if spec.shape != ref.shape:
                raise OperatorError(f"{self.label}: input {port!r} has shape {spec.shape} but "
                                    f"'interferogram' has {ref.shape}; all inputs share one grid")
            if port in ("interferogram", "master", "slave") and spec.dtype.kind != "c":
                raise OperatorError(f"{self.label}: input {port!r} has dtype {spec.dtype}; "
                                    "expected a complex image")
        return {"output": ImageSpec(ref.shape, np.float32, None, ref.geo)}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        grown = output_region.grow(*self.halo)
        return {"interferogram": grown, "master": grown, "slave": grown,
                "slope_rows": output_region, "slope_cols": output_region}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        grown = output_region.grow(*self.halo).shape
        arrays = {}
        for port in ("interferogram", "master", "slave"):
            dtype = complex_dtype(working_dtype(inputs[port].dtype, self.label, port))
            arrays[port] = prepare_input(self.label, port, inputs[port], grown, dtype)
        slopes = [prepare_input(self.label, port, inputs[port], output_region.shape, np.float64)
                  for port in ("slope_rows", "slope_cols")]
        out = np.empty(output_region.shape, dtype=np.float32)
        if out.size:
            kernels.coherence(arrays["interferogram"], arrays["master"], arrays["slave"],
                              slopes[0], slopes[1], self.window[0], self.window[1],
                              self.slope_compensation, out)
        return {"output": out}
