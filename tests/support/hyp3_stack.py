"""Three simulated pairs of one area at three dates, exported as a HyP3 stack for MintPy.

The simulator images master and slave at one time; a repeat pass is made by
shifting every time of a scene (first line, state vectors) by whole days,
keeping its ECEF orbit: an exact-repeat orbit. The simulator's radar is
Sentinel-1's C band (wavelength c / 5.405 GHz), so its scenes are named
``Sentinel-1A`` here: MintPy's ``prep_hyp3`` reads only Sentinel-1 names. All pairs share the seed
(the same terrain and master geometry) and differ in the slave's baseline,
so the baselines close (B02 = B01 + B12). The products of each run are
clipped to the common overlap of all pairs (as users clip HyP3 products;
the map grids are snapped to the posting, so windows align exactly) and
named ``*_clip.tif``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

#: (master day, slave day, slave perpendicular baseline in m) of the three pairs.
PAIRS = ((0, 12, 150.0), (12, 24, -80.0), (0, 24, 70.0))
#: Perpendicular baseline of each date relative to date 0 (master of the first pair).
DATE_BPERP = {0: 0.0, 12: 150.0, 24: 70.0}


def pep(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "peppers", *args], cwd=cwd,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pep {' '.join(args)}: {result.stderr or result.stdout}")
    return result.stdout


def shift_days(yaml_path: Path, days: int, sensor: str = "Sentinel-1A") -> None:
    """Move every UTC time of a scene file by ``days`` (ECEF positions unchanged); name the sensor."""
    def later(match: re.Match) -> str:
        when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%f")
        return "'" + (when + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z'"

    text = re.sub(r"sensor: \{name: [^,]+,", f"sensor: {{name: {sensor},", yaml_path.read_text())
    yaml_path.write_text(re.sub(r"'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z'", later, text))


def make_pair(folder: Path, master_day: int, slave_day: int, bperp: float, *, lines: int,
              samples: int, simulate: tuple[str, ...] = ()) -> Path:
    """Simulate, shift the dates, init, ``pep run make products``; the product folder.

    ``simulate``: more ``pep simulate`` options (e.g. a Mogi source between the passes).
    """
    folder.mkdir(parents=True)
    pep("simulate", "sim", "--lines", str(lines), "--samples", str(samples), "--seed", "3",
        "--bperp", str(bperp), "--quiet", *simulate, cwd=folder)
    shift_days(folder / "sim" / "master.yaml", master_day)
    shift_days(folder / "sim" / "slave.yaml", slave_day)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--gcps", "sim/gcps.yaml", "--reference-dem", "sim/dem.tif", cwd=folder)
    pep("--run", "run", "run", "make", "products", "-j", "2", cwd=folder)
    (product,) = [p for p in (folder / "run" / "products").iterdir() if p.is_dir()]
    return product


def clip_stack(products: list[Path], stack: Path) -> None:
    """Copy each product folder into ``stack``, every GeoTIFF clipped to the common overlap."""
    import shutil
    import warnings

    import rasterio
    from rasterio.windows import Window, from_bounds

    bounds = []
    for product in products:
        with rasterio.open(next(product.glob("*_unw_phase.tif"))) as ds:
            bounds.append(ds.bounds)
    west = max(b.left for b in bounds)
    east = min(b.right for b in bounds)
    south = max(b.bottom for b in bounds)
    north = min(b.top for b in bounds)
    if not (west < east and south < north):
        raise ValueError(f"the pairs do not overlap: {bounds}")
    for product in products:
        out = stack / product.name
        out.mkdir(parents=True)
        for path in product.iterdir():
            if path.suffix != ".tif":
                shutil.copy(path, out / path.name)
                continue
            with rasterio.open(path) as ds, warnings.catch_warnings():
                # rasterio's window helpers use affine's deprecated '*'
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                window = from_bounds(west, south, east, north, ds.transform)
                window = Window(int(round(window.col_off)), int(round(window.row_off)),
                                int(round(window.width)), int(round(window.height)))
                data = ds.read(1, window=window)
                profile = ds.profile
                profile.update(height=data.shape[0], width=data.shape[1],
                               transform=ds.window_transform(window), driver="GTiff")
                tags, unit, description = ds.tags(), ds.units[0], ds.descriptions[0]
            with rasterio.open(out / f"{path.stem}_clip.tif", "w", **profile) as dst:
                dst.write(data, 1)
                dst.update_tags(**tags)
                dst.set_band_unit(1, unit)
                dst.set_band_description(1, description)


def mintpy_template(stack: Path) -> str:
    """A smallbaselineApp template reading the stack with processor = hyp3."""
    return "\n".join([
        "mintpy.load.processor      = hyp3",
        f"mintpy.load.unwFile        = {stack}/*/*_unw_phase_clip.tif",
        f"mintpy.load.corFile        = {stack}/*/*_corr_clip.tif",
        f"mintpy.load.connCompFile   = {stack}/*/*_conncomp_clip.tif",
        f"mintpy.load.demFile        = {stack}/*/*_dem_clip.tif",
        f"mintpy.load.incAngleFile   = {stack}/*/*_lv_theta_clip.tif",
        f"mintpy.load.azAngleFile    = {stack}/*/*_lv_phi_clip.tif",
        "mintpy.reference.minCoherence = 0.5",
        "mintpy.networkInversion.minTempCoh = 0.3",
        "mintpy.compute.cluster     = none",
        "",
    ])


def finite_fraction(values: np.ndarray) -> float:
    return float(np.isfinite(values).mean())


def mintpy_bin_or_skip() -> tuple[str, Path]:
    """``PEP_MINTPY_PYTHON`` and its ``bin`` folder, or skip the test saying why."""
    import pytest

    python = os.environ.get("PEP_MINTPY_PYTHON")
    if not python:
        pytest.skip("PEP_MINTPY_PYTHON is not set: no Python with MintPy and GDAL "
                    "(see docs/products.md, 'With MintPy')")
    probe = subprocess.run([python, "-c", "import mintpy, h5py; from osgeo import gdal"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{python} cannot import MintPy, h5py and GDAL: "
                    f"{probe.stderr.strip().splitlines()[-1:]}")
    return python, Path(python).parent
