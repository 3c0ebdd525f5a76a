"""Slave resampling and common-band filtering in one operator (the 1999 design).

Design
------
The 1999 InSAR-Peppers chain filters the master and the slave to their
common bands and resamples the slave onto the master grid in one pass, so
that the resampled slave never goes to disk. :class:`SlaveResampleFilter`
composes the two existing pieces:

1. :class:`~peppers.operators.resample.PolynomialResampler` (Kaiser-windowed
   sinc, >= 8 taps, 8192-step table) with the offset polynomials that
   :class:`~peppers.operators.coregister.Coregistration` fitted (its result
   mapping is the ``offsets`` parameter), evaluated over the region the
   filters need;
2. :class:`~peppers.operators.spectral.AzimuthCommonBand` (identity for
   zero-Doppler pairs with equal bands) and
   :class:`~peppers.operators.spectral.RangeCommonBand` (spectral shift,
   measured on image-anchored blocks of the master and the *resampled*
   slave).

Region arithmetic, outermost first: the output tile widens to whole range
estimate blocks, then by the range FIR halo (columns) and the azimuth FIR
halo (rows); the master is read over that region, and the slave over the
resampler's bounding box of it. Every stage is tiling-invariant, so the
operator is.

Outputs ``master`` and ``slave``, both on the master grid, complex64.

Two modes (different range bandwidths or centre frequencies, e.g. NISAR
20 MHz at 1243 MHz against 40 MHz at 1253 MHz): the slave is first cut to
the pair's common band on its own grid and moved to baseband, resampled,
then moved to the common band's place in the master's frame; the master is
cut to the same band by the range filter (:func:`~peppers.operators.spectral.range_bands`).

Azimuth carrier: with ``doppler`` on, the slave is demodulated by its own
azimuth carrier (Doppler centroid and, for a TOPS burst, the steering ramp;
:mod:`peppers.operators.doppler`) around each output pixel and remodulated
after the interpolation, from the slave scene's metadata (or an explicit
``slave_carrier`` table); a scene without Doppler metadata is taken as
zero-Doppler baseband. :class:`SlaveResampleFilterOffsets` is the same
operator resampling through dense offset rasters (inputs ``row_offset``,
``col_offset`` on the master grid) added to the polynomial.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators._arrays import prepare_input
from peppers.operators.doppler import scene_carrier
from peppers.operators.resample import OffsetRasterResampler, PolynomialResampler
from peppers.operators.mode_match import cut_to_common_band
from peppers.operators.scene_spectra import scene_spectrum
from peppers.operators.spectral import (AzimuthCommonBand, RangeCommonBand, bandpass_taps,
                                        pair_spec, range_bands, range_carrier)


class SlaveResampleFilter(LocalOperator):
    """Resample the slave onto the master grid and common-band filter both.

    Parameters
    ----------
    offsets : dict
        The coregistration result (``row_coeffs``, ``col_coeffs``,
        ``center``, ``scale``), e.g. HKV ``insar.coregistration.offsets``.
    taps, beta : int, float
        Windowed-sinc taps per axis and Kaiser shape of the resampler.
    range_filter, azimuth_filter : bool
        Apply the range (spectral shift) and azimuth (Doppler) filters.
    doppler : bool
        Demodulate the slave's azimuth carrier around the interpolation
        (off: baseband interpolation, for comparison).
    slave_carrier : dict
        Explicit carrier table of the slave (see
        :func:`~peppers.operators.resample.carrier_table`); empty (default):
        from ``slave_scene`` (:func:`~peppers.operators.doppler.scene_carrier`).
    bandwidth, fir_taps, estimate_window, snr_threshold, master_scene, slave_scene, height_m
        Of :class:`~peppers.operators.spectral.RangeCommonBand`.

    Raises
    ------
    ValueError
        If ``offsets`` lacks the polynomial, or another parameter is bad.

    References
    ----------
    .. [1] D. Taylor et al., "Operational interferometric SAR data
       processing for RADARSAT using a distributed computing environment",
       GeoComputation 99 (combined filtering and resampling).
    .. [2] R. Hanssen, R. Bamler, IEEE TGRS 37(1):318-321, 1999 (kernels).
    .. [3] F. Gatelli et al., IEEE TGRS 32(4):855-865, 1994 (spectral shift).
    """

    name: ClassVar[str] = "slave_resample_filter"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    outputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    edge_mode: ClassVar[str] = "constant"
    params = (
        Param("offsets", dict, {}, "coregistration result (HKV insar.coregistration.offsets)"),
        Param("taps", int, 8, "sinc taps per axis", "insar.resampling.taps", ge=1),
        Param("beta", float, 2.7, "Kaiser window beta", "insar.resampling.kaiser_beta", ge=0),
        Param("range_filter", bool, True, "range common-band filter", "insar.filtering.range"),
        Param("azimuth_filter", bool, False, "azimuth common-band filter",
              "insar.filtering.azimuth"),
        Param("doppler", bool, True, "demodulate the slave's azimuth carrier (Doppler, TOPS)",
              "insar.resampling.doppler"),
        Param("slave_carrier", dict, {}, "explicit slave carrier table (cycles/line)"),
    ) + tuple(p for p in RangeCommonBand.params)
    #: The resampler class (the offset-raster variant overrides it).
    resampler_class: ClassVar[type] = PolynomialResampler

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        offsets = self.offsets or {"row_coeffs": [0.0], "col_coeffs": [0.0]}
        try:
            poly = {key: offsets[key] for key in ("row_coeffs", "col_coeffs")}
        except KeyError as missing:
            raise ValueError(f"{self.label}: offsets lacks {missing}; pass the coregistration "
                             "result (insar.coregistration.offsets)") from None
        for key in ("center", "scale"):
            if key in offsets:
                poly[key] = tuple(offsets[key])
        carrier = self.slave_carrier
        if not carrier and self.doppler and self.slave_scene:
            carrier = scene_carrier(self.slave_scene) or {}
        self.resampler = self.resampler_class(taps=self.taps, beta=self.beta,
                                              carrier=carrier if self.doppler else {},
                                              **poly, **self._resampler_extra())
        self.spectra = self.bands = None
        if self.master_scene and self.slave_scene:
            self.spectra = (scene_spectrum(self.master_scene), scene_spectrum(self.slave_scene))
            try:
                self.bands = range_bands(*self.spectra)
            except ValueError as error:
                raise ValueError(f"{self.label}: {error}") from None
        # the slave's common band cut on its own grid, before resampling (two modes)
        self._cut = (bandpass_taps(self.bands.slave_centre, self.bands.slave_width,
                                   self.fir_taps)
                     if self.bands is not None and self.bands.slave_needs_cut else None)
        range_params = {p.name: getattr(self, p.name) for p in RangeCommonBand.params}
        master_cut = self.bands is not None and self.bands.master_needs_cut
        self.range = (RangeCommonBand(**{**range_params, "estimate": self.range_filter})
                      if self.range_filter or master_cut else None)
        self.azimuth = self._azimuth_filter() if self.azimuth_filter else None

    def _azimuth_filter(self) -> AzimuthCommonBand | None:
        """The azimuth common band from the scenes' Doppler centroids and bandwidths.

        Fractions of the master's line rate; the centroids at the image
        centres. None for TOPS (the steered spectra of co-registered bursts
        differ only by the ramp rate times the offset, below the filter's
        resolution; ISCE2 topsApp does not filter them either).
        """
        if self.spectra is None:
            return AzimuthCommonBand(fir_taps=self.fir_taps)
        m, s = self.spectra
        if m.tops or s.tops:
            return None
        return AzimuthCommonBand(master_doppler=m.centre_doppler_hz() / m.prf_hz,
                                 slave_doppler=s.centre_doppler_hz() / m.prf_hz,
                                 master_bandwidth=m.azimuth_bandwidth_hz / m.prf_hz,
                                 slave_bandwidth=s.azimuth_bandwidth_hz / m.prf_hz,
                                 fir_taps=self.fir_taps)

    def _resampler_extra(self) -> dict[str, Any]:
        return {}

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return pair_spec(input_specs)

    # -- regions ---------------------------------------------------------------------
    def _regions(self, output_region: Region) -> tuple[Region, Region, Region]:
        """(range area, range input = area + range halo, master input = + azimuth halo)."""
        area = self.range.area(output_region) if self.range else output_region
        ranged = area.grow(*self.range.halo) if self.range else area
        grown = ranged.grow(*self.azimuth.halo) if self.azimuth else ranged
        return area, ranged, grown

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        grown = self._regions(output_region)[2]
        slave = self.resampler.input_region(grown, {})["input"]
        if self._cut is not None:
            slave = slave.grow(0, self._cut.size // 2)
        return {"master": grown, "slave": slave}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        area, ranged, grown = self._regions(output_region)
        wanted = self.input_region(output_region, {})
        m = prepare_input(self.label, "master", inputs["master"], grown.shape, np.complex64)
        s_raw = prepare_input(self.label, "slave", inputs["slave"], wanted["slave"].shape,
                              np.complex64)
        if self._cut is not None:
            s_raw = self._cut_slave(s_raw, wanted["slave"])
        s = self.resampler.resample(s_raw, grown, self._rasters(inputs, grown))
        if self.bands is not None and self.bands.master_offset_hz:
            m_spec = self.spectra[0]
            s *= range_carrier(self.bands.master_offset_hz, m_spec.first_sample_m,
                               m_spec.sample_spacing_m,
                               np.arange(grown.col, grown.col_stop))[None, :]
        s = s.astype(np.complex64, copy=False)
        if self.azimuth:
            m = self.azimuth.filter_grown(m, ranged)
            s = self.azimuth.filter_grown(s, ranged)
        if self.range:
            out_m, out_s = self.range.filter_area(m, s, area, output_region)
        else:
            out_m, out_s = m, s
        return {"master": out_m, "slave": out_s}

    def _cut_slave(self, raw: np.ndarray, region: Region) -> np.ndarray:
        """The slave's common band on its own grid, at baseband (:mod:`.mode_match`)."""
        return cut_to_common_band(raw, region, self.bands, self.spectra[1], self._cut)

    def _rasters(self, inputs: Mapping[str, np.ndarray],
                 grown: Region) -> tuple[np.ndarray, np.ndarray] | None:
        return None


class SlaveResampleFilterOffsets(SlaveResampleFilter):
    """:class:`SlaveResampleFilter` through dense offset rasters (plus the polynomial).

    Inputs ``master``, ``slave``, ``row_offset``, ``col_offset``: the rasters
    are on the master grid, float pixels, slave position minus master
    position (the convention of ``docs/coregistration.md``), added to the
    ``offsets`` polynomial (default zero). They are read over the same
    region as the master (the tile grown by the filter halos).

    The result of :class:`~peppers.operators.coregister_geometry.GeometricCoregistration`
    is a complete ``offsets``: besides the polynomial (its smooth model of the
    geometric offsets plus the correlation correction) it carries
    ``raster_reference`` (the smooth model, which the rasters are taken
    relative to), ``raster_bound`` (measured over the rasters), ``shape``
    and ``rasters`` (false for ``method: correlation``: the polynomial alone).

    Parameters
    ----------
    raster_bound : tuple of float
        Bound of ``|raster - reference|`` per axis, pixels; see
        :class:`~peppers.operators.resample.OffsetRasterResampler`. Empty
        (default; HKV ``insar.geometry.offset_bound``): ``offsets["raster_bound"]``.
    **values
        As :class:`SlaveResampleFilter`.

    Raises
    ------
    ValueError
        No bound given nor in ``offsets``, or a bad one.
    """

    name: ClassVar[str] = "slave_resample_filter_offsets"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave", "row_offset", "col_offset")
    params = SlaveResampleFilter.params + (
        Param("raster_bound", tuple, (), "bound of |raster - reference| (rows, cols), px; "
              "empty: the coregistration's measured bound", "insar.geometry.offset_bound"),
    )
    resampler_class: ClassVar[type] = OffsetRasterResampler

    def _resampler_extra(self) -> dict[str, Any]:
        offsets = self.offsets or {}
        self.use_rasters = bool(offsets.get("rasters", True))
        if not self.use_rasters:  # method: correlation, the polynomial alone
            return {"raster_bound": (0.0, 0.0)}
        return {"raster_bound": tuple(self.raster_bound) or offsets.get("raster_bound", ()),
                "raster_reference": offsets.get("raster_reference", {}),
                "image_shape": tuple(offsets.get("shape", ()))}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        regions = super().input_region(output_region, input_specs)
        return {**regions, "row_offset": regions["master"], "col_offset": regions["master"]}

    def _rasters(self, inputs: Mapping[str, np.ndarray],
                 grown: Region) -> tuple[np.ndarray, np.ndarray] | None:
        if not self.use_rasters:
            return None
        return inputs["row_offset"], inputs["col_offset"]
