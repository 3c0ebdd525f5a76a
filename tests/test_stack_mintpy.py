"""MintPy on a stack run's export agrees with peppers' own SBAS velocity (issue 17, slow).

``pep stack export`` makes every pair's HyP3-style set on one map grid and
the ``smallbaselineApp.py`` template (reference point at the network's
reference pixel); MintPy (``PEP_MINTPY_PYTHON``, as in
``tests/test_mintpy_hyp3.py``; skipped without it) loads it, inverts the
network and fits the velocity. Its velocity must agree with
``products/geocoded_velocity.tif`` within the propagated uncertainty: after
one constant (the two reference points differ by a window mean), the RMS
difference is below the RMS propagated deviation, and the maps correlate.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from support.hyp3_stack import mintpy_bin_or_skip

from peppers.cli import stack_run
from peppers.operators.simulate import SimulationConfig
from peppers.operators.simulate.stack import simulate_stack
from peppers.operators.simulate.stack_config import StackConfig


@pytest.mark.slow
def test_mintpy_velocity_of_the_exported_stack_agrees_with_peppers(tmp_path):
    import rasterio

    mintpy, bin_dir = mintpy_bin_or_skip()
    # MintPy's prep_hyp3 reads Sentinel-1 names only: the simulated radar is named so
    scene = SimulationConfig(lines=160, samples=160, seed=17, relief_m=150.0, patches=1,
                             mogi_depth_m=500.0, gcps=4, threads=2, sensor_name="Sentinel-1A")
    cfg = StackConfig(scene, dates=4, interval_days=12, bperp_spread_m=100.0,
                      mogi_rate_m3_per_year=1.5e5, rate_m_per_year=-0.04, seasonal_m=0.008,
                      bowl_width_m=250.0, bowl_east_m=-150.0)
    sim = simulate_stack(tmp_path / "sim", cfg)
    db = stack_run.init_stack(tmp_path / "run", [sim.folder / f"{d}.yaml" for d in sim.dates],
                              reference=None, dem_path=sim.folder / "dem.tif",
                              network="sequential:2")
    done = stack_run.export_mintpy(db, tmp_path / "mintpy", threads=2)
    assert len(done["products"]) == 5
    work = tmp_path / "mintpy"
    app = [mintpy, str(bin_dir / "smallbaselineApp.py"), "smallbaselineApp.cfg", "--dostep"]
    for step in ("load_data", "modify_network", "reference_point", "invert_network"):
        result = subprocess.run(app + [step], cwd=work, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    subprocess.run([mintpy, str(bin_dir / "timeseries2velocity.py"), "timeseries.h5", "-o",
                    "velocity.h5"], cwd=work, capture_output=True, text=True, check=True)
    subprocess.run([mintpy, "-c", "import h5py, numpy as np; f = h5py.File('velocity.h5'); "
                    "np.save('velocity.npy', f['velocity'][:])"], cwd=work, check=True)
    theirs = np.load(work / "velocity.npy")
    products = Path(db.root) / "products"
    with rasterio.open(products / "geocoded_velocity.tif") as ds:
        ours = ds.read(1)
    with rasterio.open(products / "geocoded_velocity_std.tif") as ds:
        sigma = ds.read(1)
    assert theirs.shape == ours.shape
    good = np.isfinite(ours) & np.isfinite(sigma) & np.isfinite(theirs) & (theirs != 0)
    assert good.sum() > 300
    diff = (theirs - ours)[good]
    diff -= np.median(diff)
    rms, rms_sigma = float(np.sqrt(np.mean(diff ** 2))), float(np.sqrt(np.mean(sigma[good] ** 2)))
    print(f"MintPy - peppers velocity: RMS {rms * 1e3:.2f} mm/yr over {good.sum()} map pixels, "
          f"RMS propagated sigma {rms_sigma * 1e3:.2f} mm/yr")
    assert rms < rms_sigma
    assert np.corrcoef(theirs[good], ours[good])[0, 1] > 0.99
