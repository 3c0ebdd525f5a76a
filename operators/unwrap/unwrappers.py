"""Phase unwrapping as global operators of the PPE.

Each operator reads the whole ``interferogram`` (complex64, or a float32
wrapped phase) and ``coherence`` (float32), unwraps (on overlapping tiles
when ``tile_size`` > 0, see :mod:`.tiled`), fills small holes (see
:mod:`.fill`) and writes ``unwrapped`` (float32, NaN where not unwrapped)
and ``components`` (int32, 0 where not unwrapped) in blocks of rows.

:class:`Unwrap` is the one the ``unwrap`` rule runs: its ``method``
(``insar.unwrap.method``) selects the solver, and an ``nlooks`` of 0
(the declared default) is derived from the multilook looks of the run's
master scene (see :func:`equivalent_looks`).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSink, ImageSource, ImageSpec, Region
from peppers.io.source import ArraySource
from peppers.operator import GlobalOperator, Param
from peppers.operators.unwrap.branch_cut import unwrap_branch_cut
from peppers.operators.unwrap.fill import fill_holes
from peppers.operators.unwrap.masks import wrapped_phase
from peppers.operators.unwrap.mcf import unwrap_mcf
from peppers.operators.unwrap.snaphu_py import unwrap_snaphu
from peppers.operators.unwrap.tiled import UnwrapTiles, compute_tiles, write_rows
from peppers.operators.unwrap.wls import unwrap_wls

_COMMON = (
    Param("threshold", float, 0.0, "coherence below which pixels are not unwrapped", ge=0.0),
    Param("min_component_size", int, 50, "smallest component unwrapped (pixels)", ge=0),
    Param("fill_max_hole", int, 100, "largest enclosed hole interpolated (pixels; 0: none)",
          ge=0),
    Param("tile_size", int, 0, "largest outer tile side in pixels (0: one tile); layout automatic",
          ge=0),
    Param("overlap", int, 128, "overlap of neighbouring tiles (pixels)", ge=0),
    Param("threads", int, 0, "worker threads for tiles (0: all cores)", ge=0),
    Param("tile_workers", int, 2, "workers the automatic tile layout is balanced for (the "
          "tiles, and so the result, depend on it, not on the machine)", ge=1),
)

#: :class:`Unwrap` (the ``unwrap`` rule's operator) reads these from the run
#: (``insar.unwrap.*``, defaults as in ``peppers/parameters.yaml``); the
#: single-method operators keep the script defaults of :data:`_COMMON`.
_RUN_KEYS = {
    "threshold": Param("threshold", float, 0.3, "coherence below which pixels are not unwrapped",
                       "insar.unwrap.coherence_threshold", ge=0.0),
    "min_component_size": Param("min_component_size", int, 100,
                                "smallest component unwrapped (pixels)",
                                "insar.unwrap.min_region_size", ge=0),
    "tile_size": Param("tile_size", int, 2048,
                       "largest outer tile side in pixels (0: one tile); layout automatic",
                       "insar.unwrap.tile_size", ge=0),
    "overlap": Param("overlap", int, 256, "overlap of neighbouring tiles (pixels)",
                     "insar.unwrap.overlap", ge=0),
}


class _Unwrap(GlobalOperator):
    """Shared reading, tiling, filling and writing of the unwrapping operators."""

    inputs: ClassVar[tuple[str, ...]] = ("interferogram", "coherence")
    outputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components")
    #: The solver, ``f(data, coherence, **params) -> (unwrapped, components)``.
    solver: ClassVar[Callable[..., tuple[np.ndarray, np.ndarray]]]
    #: Names of the parameters passed on to the solver besides the common ones.
    solver_params: ClassVar[tuple[str, ...]] = ()

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        ifg, coh = input_specs["interferogram"], input_specs["coherence"]
        if ifg.shape != coh.shape:
            raise OperatorError(f"{self.label}: coherence shape {coh.shape} differs from "
                                f"interferogram shape {ifg.shape}")
        return {"unwrapped": ImageSpec(ifg.shape, np.float32, float("nan"), ifg.geo),
                "components": ImageSpec(ifg.shape, np.int32, 0, ifg.geo)}

    def _solver_params(self, nodata: Any) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in self.solver_params}
        params.update(threshold=self.threshold, min_component_size=self.min_component_size,
                      nodata=nodata)
        return params

    @property
    def tiled(self) -> bool:
        """Whether this operator unwraps on tiles (``tile_size > 0``): threads or MPI ranks."""
        return self.tile_size > 0

    def tiles(self, sources: Mapping[str, ImageSource]) -> UnwrapTiles:
        """The tiled path on ``sources``: tiles computed anywhere, then one ``finish``."""
        ifg, coh = sources["interferogram"], sources["coherence"]
        self.output_spec({"interferogram": ifg.spec, "coherence": coh.spec})
        return UnwrapTiles(self.label, type(self).solver, self._solver_params(ifg.spec.nodata),
                           self.tile_size, self.overlap, self.fill_max_hole, sources,
                           self.tile_workers, self.threads or None)

    def unwrap(self, data: np.ndarray, coherence: np.ndarray,
               nodata: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Unwrap arrays with this operator's parameters (the script-layer entry)."""
        if self.tile_size > 0:
            sources = {"interferogram": ArraySource(data, nodata=nodata),
                       "coherence": ArraySource(coherence)}
            spec = self.output_spec({p: s.spec for p, s in sources.items()})
            sinks = {p: ArraySource(np.empty(s.shape, s.dtype)) for p, s in spec.items()}
            self.run(sources, sinks)
            return sinks["unwrapped"].array, sinks["components"].array
        unw, comps = type(self).solver(data, coherence, **self._solver_params(nodata))
        if self.fill_max_hole > 0:
            unw, comps = fill_holes(unw, comps, wrapped_phase(data, nodata), self.fill_max_hole)
        return unw, comps

    def run(self, sources: Mapping[str, ImageSource], sinks: Mapping[str, ImageSink]) -> None:
        if self.tiled:
            job = self.tiles(sources)
            job.finish(compute_tiles(job, self.threads or None), sinks)
            return
        ifg, coh = sources["interferogram"], sources["coherence"]
        self.output_spec({"interferogram": ifg.spec, "coherence": coh.spec})
        full = Region.full(ifg.spec.shape)
        unw, comps = self.unwrap(ifg.read(full), coh.read(full), ifg.spec.nodata)
        write_rows(sinks, {"unwrapped": unw, "components": comps})


class UnwrapMCF(_Unwrap):
    """Minimum-cost-flow unwrapping (Costantini 1998) with statistical arc costs.

    Parameters
    ----------
    nlooks : float
        Equivalent number of looks (cost model).
    smoothness : float
        Std (rad) of the true gradient around the local fringe rate.
    gradient_window : int
        Box of the local fringe-rate estimate.
    threshold, min_component_size, fill_max_hole, tile_size, overlap, threads
        See the module docstring and :mod:`.tiled`.

    References
    ----------
    Costantini, M. (1998). A novel phase unwrapping method based on network
    programming. IEEE TGRS 36(3), 813-821.
    """

    name: ClassVar[str] = "unwrap_mcf"
    solver = staticmethod(unwrap_mcf)
    solver_params = ("nlooks", "smoothness", "gradient_window")
    params: ClassVar[tuple[Param, ...]] = _COMMON + (
        Param("nlooks", float, 1.0, "equivalent number of looks"),
        Param("smoothness", float, 0.3, "std of the true gradient around the local rate (rad)"),
        Param("gradient_window", int, 7, "box of the local fringe-rate estimate (pixels)"),
    )


class UnwrapWLS(_Unwrap):
    """Weighted least-squares unwrapping (Ghiglia & Romero 1994), made congruent.

    Parameters
    ----------
    tol : float
        PCG relative residual.
    max_iter : int
        PCG iteration limit.

    References
    ----------
    Ghiglia, D. C. & Romero, L. A. (1994). JOSA A 11(1), 107-117.
    """

    name: ClassVar[str] = "unwrap_wls"
    solver = staticmethod(unwrap_wls)
    solver_params = ("tol", "max_iter")
    params: ClassVar[tuple[Param, ...]] = _COMMON + (
        Param("tol", float, 1e-4, "PCG relative residual"),
        Param("max_iter", int, 200, "PCG iteration limit"),
    )


class UnwrapBranchCut(_Unwrap):
    """Branch-cut unwrapping (Goldstein, Zebker & Werner 1988).

    Parameters
    ----------
    max_box : int
        Largest residue search box (odd).

    References
    ----------
    Goldstein, R. M., Zebker, H. A. & Werner, C. L. (1988). Radio Science
    23(4), 713-720.
    """

    name: ClassVar[str] = "unwrap_branch_cut"
    solver = staticmethod(unwrap_branch_cut)
    solver_params = ("max_box",)
    params: ClassVar[tuple[Param, ...]] = _COMMON + (
        Param("max_box", int, 41, "largest residue search box (odd pixels)"),
    )


class UnwrapSnaphu(_Unwrap):
    """SNAPHU through snaphu-py (optional dependency; see :mod:`.snaphu_py`).

    Parameters
    ----------
    nlooks : float
        Equivalent number of looks (SNAPHU's cost model).

    References
    ----------
    Chen, C. W. & Zebker, H. A. (2002). IEEE TGRS 40(8), 1709-1719.
    """

    name: ClassVar[str] = "unwrap_snaphu"
    solver = staticmethod(unwrap_snaphu)
    solver_params = ("nlooks",)
    params: ClassVar[tuple[Param, ...]] = _COMMON + (
        Param("nlooks", float, 1.0, "equivalent number of looks"),
    )


_METHODS: dict[str, type[_Unwrap]] = {"mcf": UnwrapMCF, "wls": UnwrapWLS,
                                      "branch_cut": UnwrapBranchCut, "snaphu": UnwrapSnaphu}


def equivalent_looks(master: Mapping[str, Any], looks: Any) -> float:
    """Equivalent number of looks of the default chain's multilooked interferogram.

    Parameters
    ----------
    master : mapping
        Master scene metadata (``inputs.master``); empty: ``looks`` as given.
    looks : pair of int
        ``insar.multilook.looks`` (with a scene only the range looks count,
        the azimuth looks make square ground pixels, as in :class:`Multilook`).

    Returns
    -------
    float
        ``la * lr * (B_a / PRF) * (B_r / f_s)``, at least 1: oversampled
        neighbours are correlated, so each averaged pixel counts by the
        bandwidth / sampling-rate ratio per axis, from the scene's metadata
        (:func:`~peppers.operators.scene_spectra.scene_spectrum`; without a
        scene or bandwidths, its default fraction).
    """
    from peppers.operators.height import radar_looks
    from peppers.operators.scene_spectra import DEFAULT_BANDWIDTH_FRACTION, scene_spectrum

    la, lr = radar_looks(master, looks)
    if master:
        spectrum = scene_spectrum(master)
        efficiency = spectrum.azimuth_fraction * spectrum.range_fraction
    else:
        efficiency = DEFAULT_BANDWIDTH_FRACTION ** 2
    return max(1.0, la * lr * efficiency)


class Unwrap(_Unwrap):
    """Unwrapping with the solver chosen by ``method`` (the ``unwrap`` rule's operator).

    Parameters
    ----------
    method : str
        ``mcf``, ``wls``, ``branch_cut`` or ``snaphu`` (optional snaphu-py).
    nlooks : float
        Equivalent looks for the MCF and SNAPHU costs; 0: :func:`equivalent_looks` of
        ``master`` and ``looks``.
    master : dict
        Master scene metadata (``inputs.master``), for the derived looks.
    looks : tuple
        ``insar.multilook.looks``, for the derived looks.
    smoothness, gradient_window, tol, max_iter, max_box
        Passed to the chosen solver (see :class:`UnwrapMCF`, :class:`UnwrapWLS`,
        :class:`UnwrapBranchCut`).

    Raises
    ------
    OperatorError
        If ``method`` is not one of the four.
    """

    name: ClassVar[str] = "unwrap"
    params: ClassVar[tuple[Param, ...]] = tuple(_RUN_KEYS.get(p.name, p) for p in _COMMON) + (
        Param("method", str, "mcf", "solver: mcf, wls, branch_cut or snaphu",
              "insar.unwrap.method", choices=("mcf", "wls", "branch_cut", "snaphu")),
        Param("nlooks", float, 0.0, "equivalent looks (0: from the multilook looks)",
              "insar.unwrap.nlooks", ge=0),
        Param("master", dict, {}, "master scene metadata (inputs.master)"),
        Param("looks", tuple, (5, 5), "multilook looks", "insar.multilook.looks", ge=1),
        Param("smoothness", float, 0.3, "MCF: std of the true gradient around the local rate"),
        Param("gradient_window", int, 7, "MCF: box of the local fringe-rate estimate"),
        Param("tol", float, 1e-4, "WLS: PCG relative residual"),
        Param("max_iter", int, 200, "WLS: PCG iteration limit"),
        Param("max_box", int, 41, "branch cut: largest residue search box (odd pixels)"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.method not in _METHODS:
            raise OperatorError(f"{self.label}: insar.unwrap.method must be one of "
                                f"{sorted(_METHODS)}, got {self.method!r}")

    def solver_instance(self) -> _Unwrap:
        """The single-method operator with this instance's parameters."""
        cls = _METHODS[self.method]
        values = {p.name: getattr(self, p.name) for p in cls.params}
        if cls in (UnwrapMCF, UnwrapSnaphu) and self.nlooks <= 0:
            values["nlooks"] = equivalent_looks(self.master, self.looks)
        return cls(**values)

    def unwrap(self, data: np.ndarray, coherence: np.ndarray,
               nodata: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Unwrap arrays with the chosen solver (the script-layer entry)."""
        return self.solver_instance().unwrap(data, coherence, nodata)

    def tiles(self, sources: Mapping[str, ImageSource]) -> UnwrapTiles:
        """The chosen solver's tiled path (see :meth:`_Unwrap.tiles`), named as this operator."""
        job = self.solver_instance().tiles(sources)
        job.label = self.label
        return job
