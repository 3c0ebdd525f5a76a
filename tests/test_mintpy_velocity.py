"""MintPy's velocity from the HyP3-style set of a deforming area has the simulated sign and rate.

Slow, and needs a Python with MintPy and GDAL's bindings, named by
``PEP_MINTPY_PYTHON`` (docs/products.md, 'With MintPy'); without it the test
is skipped, saying so. Three simulated pairs of one area at days 0, 12, 24
(support/hyp3_stack.py: an exact-repeat orbit shifted by whole days) over an
inflating Mogi source whose volume grows linearly in time: each pair gets
the volume change between its dates (``RATE * days``), so the pairs' LOS
displacements are those of one linear motion (Mogi's field is linear in the
volume). Each run has the simulated surface as its reference DEM, so the
set's ``_unw_phase`` is differential (rules/reference_dem/products.yaml):
deformation and noise only. MintPy ``load_data`` (processor hyp3),
``reference_point``, ``invert_network`` and ``timeseries2velocity`` give a
velocity in m/year, positive towards the satellite; the truth is the
simulator's ``truth/los_displacement`` of the 24-day pair (positive towards
the satellite), per year.

Checks, against the truth at the nearest radar pixel of every map pixel:
the least-squares slope of MintPy's velocity on the truth (the intercept
takes MintPy's reference point) is 1 within 0.1, and MintPy's velocity at
the source (3 x 3 median) minus the far field's (median where the truth is
under a fifth of its peak) has the truth's sign (positive: uplift, towards
the satellite) and its magnitude within 10 %. Measured (docs/products.md):
slope 1.000-1.003 (4 runs), source within 1.3 %, residual 7 mm/year RMS (the phase
noise); the same stack with the plain ``_unw_phase`` (topography in it)
gives a slope of 0.77 and 30 mm/year RMS: the topographic phase, through
the dates' baselines 0, 150, 70 m, is read as motion.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from support.hyp3_stack import (PAIRS, clip_stack, make_pair, mintpy_bin_or_skip,
                                mintpy_template)

#: Mogi source: volume rate (m^3/day) and depth (m), below the scene centre: about 2 cm of
#: LOS uplift at the source in 24 days on a 1.3 x 1.2 km scene.
RATE_M3_PER_DAY, DEPTH_M = 650.0, 400.0

READ = """
import json, h5py, numpy as np
with h5py.File("velocity.h5") as f:
    v = f["velocity"][:]
    attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
with h5py.File("temporalCoherence.h5") as f:
    c = f["temporalCoherence"][:]
np.savez("velocity.npz", velocity=v, coherence=c)
print(json.dumps({k: attrs[k] for k in ("X_FIRST", "Y_FIRST", "X_STEP", "Y_STEP", "REF_Y",
                                        "REF_X", "UNIT", "WAVELENGTH")}))
"""


def _truth_rate(folder: Path, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lat, lon and LOS rate (m/year, towards the satellite) of every radar pixel of a pair."""
    from peppers.io.raw import RawImage
    from peppers.image import Region

    def read(name: str) -> np.ndarray:
        with RawImage.open(folder / "sim" / "truth" / f"{name}.vrt") as image:
            return np.asarray(image.read(Region.full(image.spec.shape)), dtype=np.float64)

    return read("lat"), read("lon"), read("los_displacement") / days * 365.25


def run_mintpy(mintpy: str, bin_dir: Path, stack: Path, work: Path) -> dict[str, str]:
    """load_data .. invert_network, timeseries2velocity in ``work``; the velocity's attributes."""
    work.mkdir()
    (work / "smallbaseline.cfg").write_text(mintpy_template(stack))
    app = [mintpy, str(bin_dir / "smallbaselineApp.py"), "smallbaseline.cfg", "--dostep"]
    steps = [app + [step] for step in ("load_data", "modify_network", "reference_point",
                                       "invert_network")]
    steps.append([mintpy, str(bin_dir / "timeseries2velocity.py"), "timeseries.h5",
                  "-o", "velocity.h5"])
    for command in steps:
        result = subprocess.run(command, cwd=work, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(subprocess.run([mintpy, "-c", READ], cwd=work, capture_output=True,
                                     text=True, check=True).stdout)


def velocity_against_truth(work: Path, attrs: dict[str, str], pairs: Path) -> dict[str, float]:
    """MintPy's velocity against the truth rate (module docstring): slope, source, reference."""
    from scipy.spatial import cKDTree

    saved = np.load(work / "velocity.npz")
    velocity, coherence = saved["velocity"], saved["coherence"]
    # the truth of the longest pair (days 0 -> 24) at each map pixel's nearest radar pixel
    longest = max(range(len(PAIRS)), key=lambda i: PAIRS[i][1] - PAIRS[i][0])
    lat, lon, rate = _truth_rate(pairs / f"pair{longest}", PAIRS[longest][1] - PAIRS[longest][0])
    scale = np.cos(np.radians(np.nanmean(lat)))
    tree = cKDTree(np.column_stack([lat.ravel(), lon.ravel() * scale]))
    rows, cols = np.mgrid[0:velocity.shape[0], 0:velocity.shape[1]]
    map_lat = float(attrs["Y_FIRST"]) + (rows + 0.5) * float(attrs["Y_STEP"])
    map_lon = float(attrs["X_FIRST"]) + (cols + 0.5) * float(attrs["X_STEP"])
    distance, index = tree.query(np.column_stack([map_lat.ravel(), map_lon.ravel() * scale]))
    truth = rate.ravel()[index].reshape(velocity.shape)
    inside = (distance.reshape(velocity.shape) < abs(float(attrs["Y_STEP"])))
    valid = inside & np.isfinite(velocity) & (velocity != 0) & (coherence > 0.7)
    slope, intercept = np.polyfit(truth[valid], velocity[valid], 1)
    residual = velocity[valid] - (slope * truth[valid] + intercept)
    # the source (3 x 3 around the truth's peak) against the far field (truth under a fifth of
    # the peak): both medians, so neither MintPy's reference pixel (chosen at random among the
    # coherent ones) nor one pixel's noise decides
    peak = np.unravel_index(np.argmax(np.where(valid, truth, -np.inf)), truth.shape)
    window = tuple(slice(max(i - 1, 0), i + 2) for i in peak)
    far = valid & (truth < 0.2 * truth[peak])
    out = {"pixels": int(valid.sum()), "far_pixels": int(far.sum()), "slope": float(slope),
           "intercept": float(intercept), "residual_rms": float(np.sqrt(np.mean(residual ** 2))),
           "measured": float(np.median(velocity[window][valid[window]])
                             - np.median(velocity[far])),
           "expected": float(np.median(truth[window][valid[window]]) - np.median(truth[far])),
           "peak": float(truth[peak])}
    print(f"slope {slope:.4f} intercept {intercept * 1e3:.2f} mm/yr, residual RMS "
          f"{out['residual_rms'] * 1e3:.2f} mm/yr over {out['pixels']} px; source - far field "
          f"({out['far_pixels']} px) {out['measured'] * 1e3:.1f} mm/yr, truth "
          f"{out['expected'] * 1e3:.1f} mm/yr (peak {out['peak'] * 1e3:.1f}); MintPy's "
          f"reference pixel ({attrs['REF_Y']}, {attrs['REF_X']})")
    return out


@pytest.mark.slow
def test_mintpy_velocity_of_a_mogi_source_has_the_simulated_sign_and_rate(tmp_path):
    mintpy, bin_dir = mintpy_bin_or_skip()
    products = []
    for i, (m, s, b) in enumerate(PAIRS):
        mogi = ("--mogi-volume", f"{RATE_M3_PER_DAY * (s - m):g}", "--mogi-depth", f"{DEPTH_M:g}")
        products.append(make_pair(tmp_path / f"pair{i}", m, s, b, lines=320, samples=256,
                                  simulate=mogi))
    clip_stack(products, tmp_path / "stack")
    attrs = run_mintpy(mintpy, bin_dir, tmp_path / "stack", tmp_path / "mintpy")
    assert attrs["UNIT"] == "m/year"
    fit = velocity_against_truth(tmp_path / "mintpy", attrs, tmp_path)
    assert fit["pixels"] > 500 and fit["far_pixels"] > 100
    assert fit["peak"] > 0                    # uplift: towards the satellite (the truth's sign)
    assert np.sign(fit["measured"]) == np.sign(fit["expected"])
    assert fit["measured"] == pytest.approx(fit["expected"], rel=0.10)
    assert fit["slope"] == pytest.approx(1.0, abs=0.1)
