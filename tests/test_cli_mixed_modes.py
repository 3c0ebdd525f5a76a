"""Two NISAR modes of one acquisition through the chain (issue 13 acceptance).

``SanAnd_129`` (20 MHz at 1243 MHz, 6.25 m range spacing) is the master,
``SanAnd_138`` (40 MHz at 1253 MHz, 3.12 m) the slave: the same UAVSAR
acquisition, identical orbits and times. ``pep import nisar`` writes both
scenes, ``pep init`` pairs them (their bands overlap), and
``pep run make coherence`` runs the real rules: coregistration on windows at
the master's sampling, the slave cut to the common band 1233..1253 MHz on its
own grid, resampled, moved into the master's frame, both range-filtered. The
mean coherence must be at least 0.95 (docs/coregistration.md). Without the
common-band cut (every second sample of the slave) the pair's coherence is
about 0.3, so the test can fail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.drs import pep

from peppers.hkv import RunDatabase
from peppers.io.raw import RawImage
from peppers.ppe.region import Region

DATA = Path("../shared/data/real/uavsar-sanandreas-dualband").absolute()


def _image(run: Path, name: str) -> np.ndarray:
    with RawImage.open(run / "images" / f"{name}.raw.vrt") as img:
        return img.read(Region.full(img.spec.shape))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed-modes")
    for stem in ("SanAnd_129", "SanAnd_138"):
        pep("import", "nisar", str(DATA / f"{stem}.h5"), "scenes", "--name", stem, cwd=folder)
    pep("init", "run", "--master", "scenes/SanAnd_129.yaml", "--slave", "scenes/SanAnd_138.yaml",
        cwd=folder)
    pep("--run", "run", "run", "make", "coherence", "master_filtered", "slave_resampled",
        "-j", "2", cwd=folder)
    return folder / "run"


def test_two_nisar_modes_cohere_after_the_common_band_cut(run):
    coherence = _image(run, "coherence")
    assert coherence.shape[0] > 10 and coherence.shape[1] > 10
    inner = coherence[2:-2, 2:-2]
    print(f"mean coherence {float(np.nanmean(inner)):.4f}")
    assert float(np.nanmean(inner)) >= 0.95
    offsets = RunDatabase.open(run).get("insar.coregistration.offsets")
    # slave range pixels are half the master's: the column offset grows as the column
    assert 0.99 < offsets["col_coeffs"][2] / offsets["scale"][1] < 1.01
    spectra = offsets["spectra"]
    assert spectra["master"]["range_bandwidth_hz"] == 20e6
    assert spectra["slave"]["range_bandwidth_hz"] == 40e6
    assert not any("bandwidth" in a for a in spectra["slave"]["assumed"])
    # the filtered pair, single look: the cut band agrees
    m, s = _image(run, "master_filtered"), _image(run, "slave_resampled")
    valid = (np.abs(m) > 0) & (np.abs(s) > 0)
    valid[:8], valid[-8:], valid[:, :24], valid[:, -24:] = False, False, False, False
    gamma = abs(np.vdot(s[valid], m[valid])) / np.sqrt(np.vdot(m[valid], m[valid]).real
                                                      * np.vdot(s[valid], s[valid]).real)
    print(f"single-look whole-image coherence {gamma:.4f}")
    assert gamma >= 0.95
