"""MintPy reads the HyP3-style products: load_data (processor = hyp3) and the network inversion.

Slow, and needs a Python with MintPy and GDAL's bindings, named by
``PEP_MINTPY_PYTHON`` (docs/products.md gives the commands that make one);
without it the test is skipped, saying so. Three simulated pairs of one area
at three dates (support/hyp3_stack.py) are made with ``pep run make
products``, clipped to their overlap and given to ``smallbaselineApp.py``:
``load_data`` must build ``inputs/ifgramStack.h5`` with the three pairs and
their dates, ``invert_network`` a ``timeseries.h5`` of three dates. The
pairs' phases close (the baselines do: 150 - 80 = 70 m), so the inversion's
temporal coherence is above 0.9 on more than 90 % of the pixels all three
pairs cover.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support.hyp3_stack import (PAIRS, clip_stack, make_pair, mintpy_bin_or_skip,
                                mintpy_template)


READ = """
import json, sys, h5py, numpy as np
out = {}
with h5py.File("inputs/ifgramStack.h5") as f:
    out["pairs"] = [[d.decode() for d in pair] for pair in f["date"][:]]
    out["ifgram_shape"] = list(f["unwrapPhase"].shape)
    out["conncomp"] = "connectComponent" in f
with h5py.File("timeseries.h5") as f:
    out["dates"] = [d.decode() for d in f["date"][:]]
    out["wavelength"] = float(f.attrs["WAVELENGTH"])
with h5py.File("inputs/ifgramStack.h5") as f:
    unw = f["unwrapPhase"][:]
valid = np.all(np.isfinite(unw) & (unw != 0), axis=0)   # MintPy stores no-data as 0
with h5py.File("temporalCoherence.h5") as f:
    c = f["temporalCoherence"][:]
out["valid"] = float(valid.mean())
out["coherent"] = float(np.mean(c[valid] > 0.9))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_mintpy_loads_the_stack_and_inverts_the_network(tmp_path):
    mintpy, bin_dir = mintpy_bin_or_skip()
    products = [make_pair(tmp_path / f"pair{i}", m, s, b, lines=320, samples=256)
                for i, (m, s, b) in enumerate(PAIRS)]
    clip_stack(products, tmp_path / "stack")
    work = tmp_path / "mintpy"
    work.mkdir()
    (work / "smallbaseline.cfg").write_text(mintpy_template(tmp_path / "stack"))
    app = [mintpy, str(bin_dir / "smallbaselineApp.py"), "smallbaseline.cfg", "--dostep"]
    for step in ("load_data", "modify_network", "reference_point", "invert_network"):
        result = subprocess.run(app + [step], cwd=work, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (work / "inputs" / "ifgramStack.h5").is_file()
    facts = json.loads(subprocess.run([mintpy, "-c", READ], cwd=work, capture_output=True,
                                      text=True, check=True).stdout)
    assert sorted(map(tuple, facts["pairs"])) == [("20260301", "20260313"),
                                                 ("20260301", "20260325"),
                                                 ("20260313", "20260325")]
    assert facts["conncomp"]
    assert facts["ifgram_shape"][0] == 3 and min(facts["ifgram_shape"][1:]) > 20
    assert facts["dates"] == ["20260301", "20260313", "20260325"]
    assert facts["wavelength"] == pytest.approx(0.0555, abs=1e-4)
    assert facts["valid"] > 0.3                     # the footprint, inside its bounding box
    assert facts["coherent"] > 0.9
