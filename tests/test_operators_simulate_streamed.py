"""The streamed simulator: files independent of the block size, equal to whole-image synthesis."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest
import yaml

from peppers.image import ImageSpec, Region
from peppers.io.raw import RawImage
from peppers.operators.simulate import SimulationConfig, simulate, truth
from peppers.operators.simulate.geometry_pass import GeometryStats, Scratch
from peppers.operators.simulate.image_pass import _waves, image_pass, synthesis_blocks
from peppers.operators.simulate.irf import ImpulseResponse
from peppers.operators.simulate.scatterers import synthesize, thermal_noise_rows


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_simulation_files_do_not_depend_on_the_block_size(tmp_path):
    base = dict(lines=200, samples=160, seed=9, relief_m=250.0, patches=2, gcps=9, threads=2,
                mogi_volume_m3=1e5, mogi_depth_m=700.0, dem_error_m=4.0)
    folders = []
    for block in (24, 0):            # 24 lines at a time, and the default (one block here)
        cfg = SimulationConfig(block_lines=block, **base)
        folders.append(simulate(tmp_path / f"b{block}", cfg).folder)
    small, whole = folders
    assert _files(small) == _files(whole)
    assert not any(p.name.startswith(".") for p in _files(small))      # scratch removed
    for name in _files(small):
        if name.name != "truth.yaml":
            assert filecmp.cmp(small / name, whole / name, shallow=False), name
    a, b = (yaml.safe_load((f / "truth.yaml").read_text()) for f in folders)
    assert a["config"].pop("block_lines") == 24 and b["config"].pop("block_lines") == 0
    a.pop("run"), b.pop("run")
    assert a == b
    assert len(a["rasters"]) == 13 and a["gcps"]["points"]


def test_waves_run_every_block_once_even_before_odd_neighbours():
    for count in (1, 2, 3, 7, 12):
        for pairs in (1, 2, 5):
            waves = _waves(count, pairs)
            done = [b for evens, odds in waves for b in evens + odds]
            assert sorted(done) == list(range(count))
            order = {b: k for k, b in enumerate(done)}
            for odd in range(1, count, 2):       # both even neighbours before each odd block
                assert all(order[e] < order[odd] for e in (odd - 1, odd + 1) if e < count)


def test_streamed_images_equal_whole_image_synthesis(tmp_path):
    lines, samples, margin = 150, 90, (20, 18)
    ext = (lines + 2 * margin[0], samples + 2 * margin[1])
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:ext[0], 0:ext[1]].astype(np.float64)
    fields = {"beta": (1.0 + 0.5 * np.sin(rows / 17.0) * np.cos(cols / 11.0)).astype(np.float32),
              "gamma": np.clip(0.6 + 0.3 * np.cos(rows / 23.0), 0, 1).astype(np.float32),
              "row_offset": -3.2 + 0.02 * cols + 0.01 * rows + 0.1 * rng.random(ext),
              "col_offset": 4.5 + 0.03 * rows,
              "phase": 0.35 * cols + 0.05 * rows ** 1.2}
    irf = ImpulseResponse(0.85, 12)
    m_ref, s_ref = synthesize((lines, samples), margin, **fields, irf_azimuth=irf,
                              irf_range=irf, per_axis=2, jitter=1.0, seed=21, threads=2)
    assert len(synthesis_blocks(ext[0], irf.support, float(np.ptp(fields["row_offset"])))) > 2
    cfg = SimulationConfig(lines=lines, samples=samples, seed=21, threads=2)
    stats = GeometryStats(row_offset=[float(fields["row_offset"].min()),
                                      float(fields["row_offset"].max())])
    for block in (1, 64, 1000):
        folder = tmp_path / f"b{block}"
        folder.mkdir()
        scratch = Scratch(folder / ".scratch", ext)
        for name, value in fields.items():
            scratch.write(name, 0, value)
        rasters = truth.create_rasters(folder, ["coherence", "coherence_unfiltered",
                                                "intensity"], (lines, samples))
        spec = ImageSpec((lines, samples), np.dtype(np.complex64), 0)
        images = [RawImage.create(folder / f"{n}.vrt", spec) for n in ("m", "s")]
        image_pass(scratch, rasters, *images, cfg=cfg, margin=margin, stats=stats, irf=irf,
                   noise_power=0.0, threads=2, block_lines=block)
        scratch.remove()
        full = Region.full((lines, samples))
        np.testing.assert_array_equal(images[0].read(full), m_ref)
        np.testing.assert_array_equal(images[1].read(full), s_ref)


def test_noise_rows_do_not_depend_on_the_blocks():
    irf = ImpulseResponse(0.85, 12)
    whole = thermal_noise_rows(0, 300, 80, 2.0, irf, irf, (1, 2, 3))
    parts = np.concatenate([thermal_noise_rows(lo, min(lo + 37, 300), 80, 2.0, irf, irf,
                                               (1, 2, 3)) for lo in range(0, 300, 37)])
    np.testing.assert_array_equal(parts, whole)
    assert np.mean(np.abs(whole) ** 2) == pytest.approx(2.0, rel=0.05)
    other = thermal_noise_rows(0, 300, 80, 2.0, irf, irf, (1, 2, 4))
    assert abs(np.vdot(whole, other)) / np.vdot(whole, whole).real < 0.02   # independent
