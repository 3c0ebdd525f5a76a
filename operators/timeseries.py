"""Small-baseline time-series inversion of a network of unwrapped interferograms.

The SBAS inversion of Berardino et al. (2002), vectorised over a tile of
pixels. For ``N`` acquisitions at times ``t_0 < ... < t_{N-1}`` (days) and
``M`` interferograms ``(i, j)``, ``i < j``, with unwrapped phase
``phi_ij = arg(z_i conj z_j)`` (the project's convention), the unknowns are
the mean phase velocities ``v_k`` over the intervals ``[t_k, t_{k+1}]``:

    phi_ij = sum_{k=i}^{j-1} (t_{k+1} - t_k) v_k        (B v = phi)

``B`` (``M x (N-1)``) is :func:`design_matrix`. Each pixel is solved with
the pseudo-inverse of its own rows of ``B``: an interferogram whose phase
is NaN at a pixel (outside the unwrapped connected components, masked)
drops out for that pixel only. Where the pixel's network splits into
disconnected subsets ``B`` is rank deficient and the SVD pseudo-inverse
gives the minimum-norm velocities (Berardino et al. 2002, sec. III), the
solution that bridges each gap with zero extra velocity. Optionally the
rows are weighted by the inverse phase standard deviation (weighted least
squares, the best linear unbiased estimate for independent interferograms).

The phase at each date, ``phi_k = sum_{l<k} dt_l v_l`` (``phi_0 = 0``,
the first date is the temporal reference), becomes line-of-sight
displacement ``d_k = -lambda/(4 pi) phi_k``, positive towards the satellite
(the MintPy/HyP3 sign of ``docs/dinsar.md``). The linear velocity is the
least-squares slope of ``d_k`` against ``t_k``.

**Uncertainty.** Each interferogram's phase variance is the Cramér–Rao
bound for its coherence ``gamma`` and number of looks ``L`` (Rodriguez and
Martin 1992): ``sigma^2 = (1 - gamma^2) / (2 L gamma^2)`` (:func:`phase_crb`).
With ``P`` the (weighted) pseudo-inverse, ``Cov(v) = P W Sigma W P^T``, and
``Cov(d) = C Cov(v) C^T``, ``sigma_vel^2 = g Cov(d) g^T`` with ``C`` the
cumulative-sum matrix and ``g`` the slope row of the line fit. Interferograms
are taken as independent (ones sharing a date are not quite: Agram and
Simons 2015), so the propagated deviation is that of the model.

**Temporal coherence** (Pepe and Lanari 2006; MintPy's ``temporalCoherence``):
``gamma_t = |1/M' sum exp(j (phi - B v))|`` over the ``M'`` interferograms
valid at the pixel: 1 when the network closes, small where unwrapping
errors break it. Pixels below a threshold are masked.

**Reference point.** Each interferogram loses an unknown constant (its own
unwrapping reference); :func:`rereference` subtracts the mean phase of a
small window at one pixel from every interferogram first (MintPy's
``reference_point``), so all share one spatial reference.

References
----------
P. Berardino, G. Fornaro, R. Lanari, E. Sansosti (2002), "A new algorithm for
surface deformation monitoring based on small baseline differential SAR
interferograms", IEEE TGRS 40(11):2375–2383.
A. Pepe, R. Lanari (2006), "On the extension of the minimum cost flow
algorithm for phase unwrapping of multitemporal differential SAR
interferograms", IEEE TGRS 44(9):2374–2383 (temporal coherence).
E. Rodriguez, J. M. Martin (1992), "Theory and design of interferometric
synthetic aperture radars", IEE Proc. F 139(2):147–159 (phase CRB).
Z. Yunjun, H. Fattahi, F. Amelung (2019), "Small baseline InSAR time series
analysis: unwrapping error correction and noise reduction", Computers &
Geosciences 133:104331 (MintPy).
P. S. Agram, M. Simons (2015), "A noise model for InSAR time series",
JGR Solid Earth 120:2752–2771.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from peppers.errors import OperatorError
from peppers.operator import (ImageSource, ImageSpec, LocalOperator, Param, ReductionOperator,
                              Region)

__all__ = ["design_matrix", "phase_crb", "rereference", "invert_network", "Inversion",
           "sbas_operator", "sequential_network",
           "network_from_spec", "choose_reference", "reference_operator", "summary_operator"]


def sequential_network(count: int, neighbours: int) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of each date with its next ``neighbours`` dates.

    Examples
    --------
    >>> sequential_network(4, 2)
    [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    """
    return [(i, j) for i in range(count) for j in range(i + 1, min(count, i + neighbours + 1))]


def network_from_spec(spec: str, days: Sequence[float],
                      bperp_m: Sequence[float] | None = None) -> list[tuple[int, int]]:
    """The pairs of a ``--network`` spec for acquisitions at ``days``.

    ``sequential:N`` (each date with its next N), ``sbas:MAX_DAYS,MAX_BPERP``
    (every pair within both the temporal and the perpendicular baseline,
    ``bperp_m`` per date relative to any common origin) or ``all``.

    Raises
    ------
    ValueError
        A malformed spec (one line naming it), or ``sbas`` without ``bperp_m``.

    Examples
    --------
    >>> network_from_spec("sbas:30,100", [0, 12, 24, 48], [0, 50, 120, 60])
    [(0, 1), (1, 2), (2, 3)]
    >>> len(network_from_spec("all", range(5)))
    10
    """
    count = len(days)
    kind, _, arg = spec.partition(":")
    try:
        if kind == "all" and not arg:
            return [(i, j) for i in range(count) for j in range(i + 1, count)]
        if kind == "sequential":
            neighbours = int(arg)
            if neighbours < 1:
                raise ValueError
            return sequential_network(count, neighbours)
        if kind == "sbas":
            max_days, max_bperp = (float(v) for v in arg.split(","))
            if bperp_m is None or len(bperp_m) != count:
                raise ValueError(f"network {spec!r}: needs one perpendicular baseline per date")
            return [(i, j) for i in range(count) for j in range(i + 1, count)
                    if abs(days[j] - days[i]) <= max_days
                    and abs(bperp_m[j] - bperp_m[i]) <= max_bperp]
    except ValueError as exc:
        if str(exc).startswith("network"):
            raise
    raise ValueError(f"network {spec!r}: expected sequential:N (N >= 1), "
                     "sbas:MAX_DAYS,MAX_BPERP or all")


def design_matrix(days: Sequence[float], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Berardino's ``B``: interferogram phase from interval velocities.

    Parameters
    ----------
    days : sequence of float, length N
        Acquisition times (days, increasing).
    pairs : sequence of (i, j)
        Interferograms, ``i < j`` indexes into ``days``.

    Returns
    -------
    ndarray of shape (M, N - 1)
        ``B[m, k] = t_{k+1} - t_k`` for ``i <= k < j`` of pair ``m``, else 0.

    Raises
    ------
    ValueError
        If the days do not increase or a pair is not ``0 <= i < j < N``.

    Examples
    --------
    >>> design_matrix([0, 12, 36], [(0, 1), (0, 2), (1, 2)])
    array([[12.,  0.],
           [12., 24.],
           [ 0., 24.]])
    """
    t = np.asarray(days, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError(f"timeseries: dates must be at least two increasing times, got {t}")
    dt = np.diff(t)
    b = np.zeros((len(pairs), t.size - 1))
    for m, (i, j) in enumerate(pairs):
        if not 0 <= i < j < t.size:
            raise ValueError(f"timeseries: pair {m} = ({i}, {j}) must be 0 <= i < j < {t.size}")
        b[m, i:j] = dt[i:j]
    return b


def phase_crb(coherence: np.ndarray, looks: float) -> np.ndarray:
    """Cramér–Rao bound of the interferometric phase standard deviation, rad.

    ``sigma = sqrt((1 - gamma^2) / (2 L gamma^2))`` (Rodriguez and Martin
    1992); NaN where ``gamma <= 0``.

    Examples
    --------
    >>> round(float(phase_crb(np.array(0.5), 25)), 4)
    0.2449
    """
    g = np.asarray(coherence, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt((1.0 - g * g) / (2.0 * looks * g * g))
    return np.where(g > 0, out, np.nan)


def rereference(phase: np.ndarray, row: int, col: int, half: int = 2) -> np.ndarray:
    """Each interferogram minus its mean over a ``(2 half + 1)^2`` window at ``(row, col)``.

    Parameters
    ----------
    phase : ndarray of shape (M, rows, cols)
        Unwrapped phases (NaN = invalid).
    row, col : int
        The reference pixel.
    half : int
        Half width of the window.

    Raises
    ------
    ValueError
        If an interferogram has no valid pixel in the window.
    """
    return phase - window_mean(phase, row, col, half)[:, None, None]


def window_mean(phase: np.ndarray, row: int, col: int, half: int = 2) -> np.ndarray:
    """Mean of each interferogram over the window of :func:`rereference` (its errors)."""
    win = phase[:, max(row - half, 0):row + half + 1, max(col - half, 0):col + half + 1]
    valid = np.isfinite(win).reshape(len(phase), -1).any(axis=1)
    if not valid.all():
        bad = np.flatnonzero(~valid).tolist()
        raise ValueError(f"timeseries: reference pixel ({row}, {col}) is invalid in "
                         f"interferogram(s) {bad}; choose another reference")
    return np.nanmean(win.reshape(len(phase), -1), axis=1)


@dataclass(frozen=True)
class Inversion:
    """Result of :func:`invert_network` for ``P`` pixels (any leading shape).

    Attributes
    ----------
    displacement : ndarray (N, ...)
        LOS displacement per date, m, positive towards the satellite; 0 at the
        first date.
    displacement_std : ndarray (N, ...)
        Its propagated standard deviation, m.
    velocity, velocity_std : ndarray (...)
        Linear LOS velocity, m/year, and its propagated standard deviation.
    temporal_coherence : ndarray (...)
        Pepe–Lanari temporal coherence in [0, 1].
    used : ndarray (...) of int
        Interferograms used at each pixel.
    rank : ndarray (...) of int
        Rank of the pixel's design matrix (``N - 1`` = fully connected).
    """

    displacement: np.ndarray
    displacement_std: np.ndarray
    velocity: np.ndarray
    velocity_std: np.ndarray
    temporal_coherence: np.ndarray
    used: np.ndarray
    rank: np.ndarray


def invert_network(phase: np.ndarray, days: Sequence[float], pairs: Sequence[tuple[int, int]],
                   wavelength_m: float, sigma: np.ndarray | None = None, *,
                   weighted: bool = False, rcond: float = 1e-10) -> Inversion:
    """SBAS inversion of unwrapped interferograms, pixel by pixel, vectorised.

    Parameters
    ----------
    phase : ndarray of shape (M, ...)
        Unwrapped phase of each interferogram (rad, ``arg(z_i conj z_j)``),
        already on one spatial reference (:func:`rereference`); NaN drops that
        interferogram at that pixel.
    days : sequence of float, length N
        Acquisition times, days.
    pairs : sequence of (i, j)
        The interferograms.
    wavelength_m : float
        Radar wavelength.
    sigma : ndarray of shape (M, ...), optional
        Phase standard deviation of each interferogram at each pixel (rad,
        e.g. :func:`phase_crb`); NaN drops it as well. Without it the
        uncertainties are NaN.
    weighted : bool
        Weight rows by ``1/sigma`` (needs ``sigma``); else plain least squares.
    rcond : float
        Relative cut-off of singular values (the minimum-norm treatment).

    Returns
    -------
    Inversion

    Raises
    ------
    ValueError
        On shape mismatches, or ``weighted`` without ``sigma``.
    """
    phase = np.asarray(phase, dtype=np.float64)
    b = design_matrix(days, pairs)
    m_count, n_int = b.shape
    if phase.shape[0] != m_count:
        raise ValueError(f"timeseries: {phase.shape[0]} phase images for {m_count} pairs")
    shape = phase.shape[1:]
    flat = phase.reshape(m_count, -1).T                                   # (P, M)
    if sigma is not None:
        sig = np.asarray(sigma, dtype=np.float64)
        if sig.shape != phase.shape:
            raise ValueError(f"timeseries: sigma shape {sig.shape} != phase shape {phase.shape}")
        sig = sig.reshape(m_count, -1).T
    elif weighted:
        raise ValueError("timeseries: weighted inversion needs sigma")
    else:
        sig = np.full_like(flat, np.nan)
    valid = np.isfinite(flat) & (np.isfinite(sig) | (sigma is None))
    weight = np.where(valid, 1.0 / sig if weighted else 1.0, 0.0)           # (P, M)
    rhs = np.where(valid, flat, 0.0) * weight
    bw = b[None, :, :] * weight[:, :, None]                                # (P, M, N-1)
    pinv = np.linalg.pinv(bw, rcond=rcond)                                 # (P, N-1, M)
    vel = np.einsum("pnm,pm->pn", pinv, rhs)
    rank = np.linalg.matrix_rank(bw, tol=None).astype(np.int32) if bw.size else \
        np.zeros(len(flat), np.int32)
    # propagated covariance of the interval velocities: P W Sigma W P^T
    var_rows = np.where(valid, (weight * sig) ** 2, 0.0)
    cov_v = np.einsum("pnm,pm,pkm->pnk", pinv, var_rows, pinv)
    t = np.asarray(days, dtype=np.float64)
    cum = np.zeros((t.size, n_int))
    for k in range(1, t.size):
        cum[k, :k] = np.diff(t)[:k]
    scale = -wavelength_m / (4.0 * np.pi)
    disp = scale * vel @ cum.T                                             # (P, N)
    cov_d = scale ** 2 * np.einsum("kn,pnl,jl->pkj", cum, cov_v, cum)
    years = (t - t.mean()) / 365.25
    g = years / np.sum(years ** 2)                                         # slope row
    velocity = disp @ g
    velocity_std = np.sqrt(np.einsum("k,pkj,j->p", g, cov_d, g))
    disp_std = np.sqrt(np.einsum("pkk->pk", cov_d))
    resid = np.where(valid, flat - vel @ b.T, 0.0)
    used = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcoh = np.abs(np.sum(np.where(valid, np.exp(1j * resid), 0.0), axis=1)) / used
    none = used == 0
    for arr in (disp, disp_std):
        arr[none] = np.nan
    velocity[none] = velocity_std[none] = tcoh[none] = np.nan
    if sigma is None:
        disp_std[:] = np.nan
        velocity_std[:] = np.nan
    return Inversion(disp.T.reshape((t.size,) + shape), disp_std.T.reshape((t.size,) + shape),
                     velocity.reshape(shape), velocity_std.reshape(shape), tcoh.reshape(shape),
                     used.reshape(shape).astype(np.int32), rank.reshape(shape))


# --- the PPE local operator over tiles of a network's interferograms -----------------------

_OPERATOR_PREFIX = "SbasInversion_m"
_REFERENCE_PREFIX = "NetworkReference_m"
_SUMMARY_PREFIX = "InterferogramSummary_m"
_operators: dict[tuple[int, int], type] = {}


class _SbasInversion(LocalOperator):
    """SBAS inversion of one tile: ``M`` unwrapped phases and coherences in, per date out.

    Ports are numbered: inputs ``phase_K``, ``coherence_K`` for interferogram
    ``K`` of ``pairs``; outputs ``displacement_N``, ``displacement_std_N`` per
    date, ``velocity``, ``velocity_std`` (m/year) and ``temporal_coherence``.
    A class exists per network size: ``SbasInversion_m18_n8`` (made on first
    use by this module's ``__getattr__``, so rule files name it like any
    operator). Each interferogram's reference phase (``reference.phase_rad``,
    one per pair, e.g. the window mean of :func:`rereference` at the
    reference pixel) is subtracted first; pixels whose temporal coherence is
    below ``min_temporal_coherence`` are NaN in every output but
    ``temporal_coherence``.
    """

    name: ClassVar[str] = "sbas_inversion"
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("days", list, [], "acquisition times, days from the first"),
              Param("pairs", list, [], "interferograms [i, j] into days"),
              Param("wavelength_m", float, 0.05546576, "radar wavelength, m", gt=0),
              Param("looks", float, 1.0, "looks of the coherence and phase (for the CRB)", gt=0),
              Param("weighted", bool, False, "weight by the inverse phase CRB"),
              Param("reference", dict, {}, "per-pair reference phase: {phase_rad: [...]}"),
              Param("min_temporal_coherence", float, 0.7,
                    "pixels below are masked (MintPy's default 0.7)", ge=0, le=1))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        m, n = len(self.inputs) // 2, (len(self.outputs) - 3) // 2
        if len(self.pairs) != m or len(self.days) != n:
            raise OperatorError(f"{self.label}: {len(self.pairs)} pairs and {len(self.days)} "
                                f"days given for a network of {m} pairs and {n} dates")
        self._pairs = [tuple(int(v) for v in p) for p in self.pairs]
        design_matrix(self.days, self._pairs)
        ref = self.reference.get("phase_rad", [0.0] * m)
        if len(ref) != m:
            raise OperatorError(f"{self.label}: reference.phase_rad has {len(ref)} values "
                                f"for {m} pairs")
        self._ref = np.asarray(ref, dtype=np.float64)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["phase_0"]
        return {port: ImageSpec(spec.shape, np.float32, float("nan"), spec.geo)
                for port in self.outputs}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        m = len(self._pairs)
        phase = np.stack([np.asarray(inputs[f"phase_{k}"], np.float64) for k in range(m)])
        phase -= self._ref[:, None, None]
        sigma = phase_crb(np.stack([np.asarray(inputs[f"coherence_{k}"], np.float64)
                                    for k in range(m)]), self.looks)
        out = invert_network(phase, self.days, self._pairs, self.wavelength_m, sigma,
                             weighted=self.weighted)
        bad = ~(out.temporal_coherence >= self.min_temporal_coherence)
        result = {"temporal_coherence": out.temporal_coherence.astype(np.float32)}
        for name in ("velocity", "velocity_std"):
            result[name] = np.where(bad, np.nan, getattr(out, name)).astype(np.float32)
        for k in range(len(self.days)):
            result[f"displacement_{k}"] = np.where(bad, np.nan, out.displacement[k]) \
                .astype(np.float32)
            result[f"displacement_std_{k}"] = np.where(bad, np.nan, out.displacement_std[k]) \
                .astype(np.float32)
        return result


def sbas_operator(pairs: int, dates: int) -> type:
    """The :class:`_SbasInversion` class for ``pairs`` interferograms and ``dates`` dates.

    Examples
    --------
    >>> cls = sbas_operator(3, 3)
    >>> cls.__name__, cls.inputs[:2], cls.outputs[-3:]
    ('SbasInversion_m3_n3', ('phase_0', 'phase_1'), ('velocity', 'velocity_std', \
'temporal_coherence'))
    """
    key = (int(pairs), int(dates))
    if key[0] < 1 or key[1] < 2:
        raise ValueError(f"timeseries: a network needs >= 1 pair and >= 2 dates, got {key}")
    if key not in _operators:
        name = f"{_OPERATOR_PREFIX}{key[0]}_n{key[1]}"
        ports_in = tuple(f"phase_{k}" for k in range(key[0])) + \
            tuple(f"coherence_{k}" for k in range(key[0]))
        ports_out = tuple(f"displacement_{k}" for k in range(key[1])) + \
            tuple(f"displacement_std_{k}" for k in range(key[1])) + \
            ("velocity", "velocity_std", "temporal_coherence")
        _operators[key] = type(name, (_SbasInversion,),
                               {"inputs": ports_in, "outputs": ports_out,
                                "__module__": __name__, "__qualname__": name,
                                "__doc__": _SbasInversion.__doc__})
    return _operators[key]


def choose_reference(phase: np.ndarray, coherence: np.ndarray, half: int = 2) -> tuple[int, int]:
    """The pixel valid in every interferogram, with its whole window, of highest mean coherence.

    Raises
    ------
    ValueError
        If no pixel is valid in all interferograms.
    """
    valid = np.isfinite(phase).all(axis=0) & np.isfinite(coherence).all(axis=0)
    score = np.where(valid, np.mean(np.nan_to_num(coherence), axis=0), -1.0)
    rows, cols = score.shape
    ok = np.zeros_like(valid)
    ok[half:rows - half, half:cols - half] = True
    for dr in range(-half, half + 1):          # the whole window must be valid
        for dc in range(-half, half + 1):
            shifted = np.zeros_like(valid)
            shifted[max(-dr, 0):rows - max(dr, 0), max(-dc, 0):cols - max(dc, 0)] = \
                valid[max(dr, 0):rows - max(-dr, 0), max(dc, 0):cols - max(-dc, 0)]
            ok &= shifted
    if not ok.any():
        raise ValueError("timeseries: no pixel is valid in every interferogram (with its "
                         f"{2 * half + 1}x{2 * half + 1} window); give a reference pixel")
    flat = int(np.argmax(np.where(ok, score, -2.0)))
    return flat // cols, flat % cols


class _NetworkReference(ReductionOperator):
    """The network's reference pixel and each interferogram's phase there (a reduction).

    Inputs ``phase_K``, ``coherence_K``; result ``{row, col, phase_rad: [...]}``:
    the given pixel (``pixel`` = ``[row, col]``) or :func:`choose_reference`'s,
    and the mean phase of each interferogram over the ``(2 half + 1)^2``
    window there (:func:`rereference`), ready for :class:`_SbasInversion`'s
    ``reference``. A class per network size: ``NetworkReference_mM``.
    """

    name: ClassVar[str] = "network_reference"
    outputs: ClassVar[tuple[str, ...]] = ("result",)
    params = (Param("pixel", list, [], "reference [row, col]; empty = choose"),
              Param("half", int, 2, "half width of the reference window", ge=0))

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        m = len(self.inputs) // 2
        full = Region.full(sources["phase_0"].spec.shape)
        phase = np.stack([np.asarray(sources[f"phase_{k}"].read(full), np.float64)
                          for k in range(m)])
        coh = np.stack([np.asarray(sources[f"coherence_{k}"].read(full), np.float64)
                        for k in range(m)])
        try:
            row, col = ((int(self.pixel[0]), int(self.pixel[1])) if self.pixel
                        else choose_reference(phase, coh, self.half))
            ref = window_mean(phase, row, col, self.half)
        except ValueError as exc:
            raise OperatorError(f"{self.label}: {exc}") from None
        return {"result": {"row": row, "col": col, "half": self.half,
                           "phase_rad": [float(v) for v in ref]}}


def reference_operator(pairs: int) -> type:
    """The :class:`_NetworkReference` class for ``pairs`` interferograms."""
    return _numbered(_REFERENCE_PREFIX, _NetworkReference, pairs)


class _InterferogramSummary(ReductionOperator):
    """What each unwrapped interferogram of a network holds (a reduction: the ``interferograms`` target).

    Inputs ``phase_K``, ``coherence_K``; result ``{pairs: [{valid_fraction,
    mean_coherence}, ...]}`` in the order of the inputs: the fraction of
    pixels with an unwrapped (finite) phase, and the mean coherence over
    them. A class per network size: ``InterferogramSummary_mM``.
    """

    name: ClassVar[str] = "interferogram_summary"
    outputs: ClassVar[tuple[str, ...]] = ("result",)

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        full = Region.full(sources["phase_0"].spec.shape)
        out = []
        for k in range(len(self.inputs) // 2):
            phase = np.asarray(sources[f"phase_{k}"].read(full), np.float64)
            coh = np.asarray(sources[f"coherence_{k}"].read(full), np.float64)
            good = np.isfinite(phase) & np.isfinite(coh)
            out.append({"valid_fraction": float(good.mean()),
                        "mean_coherence": float(coh[good].mean()) if good.any() else 0.0})
        return {"result": {"pairs": out}}


def _numbered(prefix: str, base: type, pairs: int) -> type:
    """The subclass of ``base`` with inputs ``phase_K``, ``coherence_K`` for ``pairs`` pairs."""
    key = (prefix, int(pairs))
    if key[1] < 1:
        raise ValueError(f"timeseries: a network needs >= 1 pair, got {pairs}")
    if key not in _operators:
        name = f"{prefix}{key[1]}"
        ports_in = tuple(f"phase_{k}" for k in range(key[1])) + \
            tuple(f"coherence_{k}" for k in range(key[1]))
        _operators[key] = type(name, (base,), {"inputs": ports_in, "__module__": __name__,
                                               "__qualname__": name, "__doc__": base.__doc__})
    return _operators[key]


def summary_operator(pairs: int) -> type:
    """The :class:`_InterferogramSummary` class for ``pairs`` interferograms."""
    return _numbered(_SUMMARY_PREFIX, _InterferogramSummary, pairs)


def __getattr__(name: str) -> type:
    """``SbasInversion_mM_nN`` / ``NetworkReference_mM`` / ``InterferogramSummary_mM`` classes
    on first use (PEP 562)."""
    if name.startswith(_REFERENCE_PREFIX) and name[len(_REFERENCE_PREFIX):].isdigit():
        return reference_operator(int(name[len(_REFERENCE_PREFIX):]))
    if name.startswith(_SUMMARY_PREFIX) and name[len(_SUMMARY_PREFIX):].isdigit():
        return summary_operator(int(name[len(_SUMMARY_PREFIX):]))
    if name.startswith(_OPERATOR_PREFIX):
        try:
            m_text, n_text = name[len(_OPERATOR_PREFIX):].split("_n")
            return sbas_operator(int(m_text), int(n_text))
        except ValueError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
