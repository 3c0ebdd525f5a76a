"""Accuracy of a geocoded DEM product against a simulation's truth.

``pep demo`` and the end-to-end tests compare ``products/geocoded_dem.tif``
with the terrain ``pep simulate`` made: :func:`assess_dem` gives coverage,
RMS error, bias, blunder rate and the Cramer-Rao bound over coherent ground
of the pair's footprint.
"""

from __future__ import annotations

import numpy as np

from peppers.image import Region

__all__ = ["COHERENT", "SLAVE_MARGIN", "assess_dem"]

#: True coherence at or above which a pixel counts as coherent ground in
#: :func:`assess_dem` (the simulator's background is ~0.84, its patches ~0.3).
COHERENT = 0.6
#: Slave pixels (the resampling kernel's half width) besides a multilook
#: block by which a footprint point must lie inside the slave image.
SLAVE_MARGIN = 4


def assess_dem(product: str, simulation: str, looks: tuple[int, int], *,
               coherent: float = COHERENT) -> dict[str, float]:
    """Accuracy of a geocoded DEM product against a simulation's truth.

    Every product pixel centre is placed on the true terrain (``dem.tif`` of
    the simulation, bilinear) and mapped into the master image by
    ``geo2rdr``; it belongs to the *footprint* when it falls between the
    outermost multilooked pixel centres and inside the slave image (by a
    multilook block plus :data:`SLAVE_MARGIN` pixels: the pair images it).
    *Coherent* pixels are those of the footprint whose true coherence
    (``truth/coherence.vrt``, nearest master pixel) is at least ``coherent``.

    Parameters
    ----------
    product : str
        ``products/geocoded_dem.tif`` of a run (EPSG:4326 or any CRS).
    simulation : str
        The ``pep simulate`` folder (``truth.yaml``, ``dem.tif``, ``truth/``).
    looks : tuple of int
        The looks of the multilooked grid.
    coherent : float
        True-coherence threshold of coherent ground.

    Returns
    -------
    dict
        ``coverage`` (fraction of coherent footprint pixels with a height),
        ``rms_m`` (RMS height error over coherent pixels with a height),
        ``bias_m``, ``crb_m`` (RMS of the per-pixel Cramer-Rao bound
        ``h_a sigma_phi / 2 pi`` over the same pixels, with the true
        coherence and ``L = la lr B^2`` independent looks, ``B`` the
        simulated bandwidth fraction), ``blunders`` (fraction with error
        above half the height of ambiguity), ``ambiguity_m`` (median),
        ``looks_independent``, ``pixels`` (coherent footprint pixels).

    References
    ----------
    E. Rodriguez, J. M. Martin (1992), IEE Proc. F 139(2), eq. 25.
    """
    from pathlib import Path

    import rasterio
    import yaml

    from peppers.geometry.zero_doppler import geo_to_pixel
    from peppers.io.raw import RawImage
    from peppers.operators.absolute_phase import read_dem
    from peppers.operators.geocode import from_map
    from peppers.operators.height import height_crb, height_of_ambiguity
    from peppers.scene import load_scene

    sim = Path(simulation)
    truth = yaml.safe_load((sim / "truth.yaml").read_text())
    master = load_scene(sim / truth["scenes"]["master"])
    slave = load_scene(sim / truth["scenes"]["slave"])
    with rasterio.open(product) as ds:
        heights = ds.read(1).astype(np.float64)
        crs, transform = ds.crs.to_string(), ds.transform
    rr, cc = np.mgrid[0:heights.shape[0], 0:heights.shape[1]]
    x0, px, rx, y0, ry, py = transform.to_gdal()
    x = x0 + (cc + 0.5) * px + (rr + 0.5) * rx
    y = y0 + (cc + 0.5) * ry + (rr + 0.5) * py
    lat, lon = from_map(crs, x, y)
    true_h = read_dem(sim / truth["dem"]["path"])(lat, lon)
    ok = np.isfinite(true_h)
    row = np.full(heights.shape, np.nan)
    col = np.full(heights.shape, np.nan)
    row[ok], col[ok] = geo_to_pixel(lat[ok], lon[ok], true_h[ok], master.orbit(),
                                    first_line=0.0, line_interval_s=master.line_interval_s,
                                    first_sample_m=master.first_sample_m,
                                    sample_spacing_m=master.sample_spacing_m, on_failure="nan")
    la, lr = looks
    # the footprint spanned by the multilooked pixel centres ...
    inside = ok & (row >= (la - 1) / 2.0) & (row <= (master.lines // la) * la - (la + 1) / 2.0) \
        & (col >= (lr - 1) / 2.0) & (col <= (master.samples // lr) * lr - (lr + 1) / 2.0)
    # ... that the slave images too, a multilook block plus the resampling kernel inside
    srow = np.full(heights.shape, np.nan)
    scol = np.full(heights.shape, np.nan)
    srow[inside], scol[inside] = geo_to_pixel(
        lat[inside], lon[inside], true_h[inside], slave.orbit(), first_line=0.0,
        line_interval_s=slave.line_interval_s, first_sample_m=slave.first_sample_m,
        sample_spacing_m=slave.sample_spacing_m, on_failure="nan")
    pad_r, pad_c = la + SLAVE_MARGIN, lr + SLAVE_MARGIN
    with np.errstate(invalid="ignore"):
        inside &= (srow >= pad_r) & (srow <= slave.lines - 1 - pad_r) \
            & (scol >= pad_c) & (scol <= slave.samples - 1 - pad_c)
    gamma = np.zeros(heights.shape)
    with RawImage.open(sim / truth["rasters"]["coherence"]["path"]) as coh:
        full = coh.read(Region.full(coh.spec.shape))
    gamma[inside] = full[np.rint(row[inside]).astype(int), np.rint(col[inside]).astype(int)]
    good = inside & (gamma >= coherent)
    measured = good & np.isfinite(heights)
    err = heights[measured] - true_h[measured]
    ambiguity = height_of_ambiguity(master, slave, row[measured], col[measured], true_h[measured])
    independent = la * lr * float(truth["config"].get("bandwidth", 1.0)) ** 2
    crb = height_crb(np.clip(gamma[measured], 1e-3, 1.0), independent, ambiguity)
    return {"coverage": float(measured.sum() / max(1, good.sum())),
            "rms_m": float(np.sqrt(np.mean(err ** 2))) if err.size else float("nan"),
            "bias_m": float(np.mean(err)) if err.size else float("nan"),
            "crb_m": float(np.sqrt(np.mean(crb ** 2))) if err.size else float("nan"),
            "blunders": float(np.mean(np.abs(err) > ambiguity / 2.0)) if err.size else 0.0,
            "ambiguity_m": float(np.median(ambiguity)) if err.size else float("nan"),
            "looks_independent": independent, "pixels": int(good.sum())}
