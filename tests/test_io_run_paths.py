"""Intermediates named as ISCE names them (``images/NAME.raw`` + ``images/NAME.raw.vrt``).

MintPy's ``readfile.read(NAME.raw)`` looks for ``NAME.raw.vrt`` (among
``.rsc``, ``.xml``, ...), reads shape, data type and interleave from it with
GDAL (processor ``isce``) and the pixels from the raw file with numpy. The
default test checks exactly those facts with rasterio and numpy; with
``PEP_MINTPY_PYTHON`` (docs/products.md) MintPy itself reads the images of a
made run. A run made with the old names (``images/NAME.vrt``) is renamed by
the next make and stays up to date: nothing is recomputed.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from support.drs import TESTS, finished, make_run, read_image
from peppers.drs import make, plan_make
from peppers.drs.rules import image_path
from peppers.image import ImageSpec, Region
from peppers.io.raw import RawImage
from peppers.io.run_paths import legacy_intermediate_path, migrate_legacy_headers

CHAIN = (TESTS / "rules" / "chain.yaml").read_text()
TARGETS = ["t.stats", "other_out"]
#: images the chain stores (the global rule's input and output, and the targets)
STORED = ["centered", "final", "other_out", "scaled"]

MINTPY = os.environ.get("PEP_MINTPY_PYTHON")
READ = """
import json, sys
import numpy as np
from mintpy.utils import readfile
out = {}
for name, dataset in json.loads(sys.argv[1]).items():
    data, atr = readfile.read(name, datasetName=dataset)
    out[name] = {"data": np.asarray(data).tolist() if not np.iscomplexobj(data) else
                 [np.real(data).tolist(), np.imag(data).tolist()],
                 "processor": atr["PROCESSOR"], "length": int(atr["LENGTH"]),
                 "width": int(atr["WIDTH"]), "data_type": atr["DATA_TYPE"]}
print(json.dumps(out))
"""


@pytest.fixture
def db(tmp_path):
    db = make_run(tmp_path, CHAIN)
    make(db, TARGETS)
    return db


def test_stored_intermediates_are_isce_named_raw_and_vrt(db):
    root = Path(db.root)
    names = sorted(p.name for p in (root / "images").iterdir())
    assert names == sorted([f"{n}.raw" for n in STORED] + [f"{n}.raw.vrt" for n in STORED])
    for name in STORED:
        assert image_path(name) == f"images/{name}.raw.vrt"
        raw = root / "images" / f"{name}.raw"
        header = Path(f"{raw}.vrt")                   # MintPy's lookup: data file + ".vrt"
        with warnings.catch_warnings():               # radar grid: no geotransform
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(header) as ds:         # what MintPy's read_gdal_vrt reads
                assert ds.count == 1
                dtype, shape = np.dtype(ds.dtypes[0]), (ds.height, ds.width)
                via_gdal = ds.read(1)
        assert raw.stat().st_size == dtype.itemsize * shape[0] * shape[1]
        pixels = np.fromfile(raw, dtype.newbyteorder("<")).reshape(shape)   # MintPy read_binary
        np.testing.assert_array_equal(pixels, via_gdal)
        np.testing.assert_array_equal(pixels, read_image(root / image_path(name)))


def test_mintpy_readfile_reads_the_intermediates(db, tmp_path):
    if not MINTPY:
        pytest.skip("PEP_MINTPY_PYTHON is not set: no Python with MintPy and GDAL "
                    "(see docs/products.md, 'With MintPy')")
    root = Path(db.root)
    cpx = root / image_path("phasor")                 # a complex intermediate as well
    values = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) * (1 + 0.5j)
    with RawImage.create(cpx, ImageSpec(values.shape, "complex64")) as image:
        image.write(Region.full(values.shape), values.astype(np.complex64))
    wanted = {str(root / "images" / f"{n}.raw"): None for n in STORED}
    wanted[str(root / "images" / "phasor.raw")] = "complex"
    done = subprocess.run([MINTPY, "-c", READ, json.dumps(wanted)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    for name in STORED:
        fact = got[str(root / "images" / f"{name}.raw")]
        expected = read_image(root / image_path(name))
        assert fact["processor"] == "isce" and fact["data_type"] == "float32"
        assert (fact["length"], fact["width"]) == expected.shape
        np.testing.assert_array_equal(np.array(fact["data"], np.float32), expected)
    fact = got[str(root / "images" / "phasor.raw")]
    assert fact["data_type"] == "complex64"
    np.testing.assert_array_equal(np.array(fact["data"][0]) + 1j * np.array(fact["data"][1]),
                                  values.astype(np.complex64))


def _make_old_style(root: Path) -> None:
    """Turn a made run into one made before the rename: old headers, old recorded paths."""
    for name in STORED:
        os.replace(root / image_path(name), root / legacy_intermediate_path(name))
    for record in (root / "records").rglob("*.yaml"):
        text = record.read_text()
        if ".raw.vrt" in text:
            record.write_text(text.replace(".raw.vrt", ".vrt"))


def test_a_run_made_with_the_old_names_is_renamed_and_stays_up_to_date(db):
    root = Path(db.root)
    before = finished(db)
    _make_old_style(root)
    assert not (root / image_path("final")).exists()
    assert plan_make(db, TARGETS).analysis.stale == []   # up to date, as the make will find
    assert (root / legacy_intermediate_path("final")).exists()   # a dry run renames nothing
    make(db, TARGETS)                                  # ... the make renames, recomputes nothing
    assert finished(db) == before
    for name in STORED:
        assert (root / image_path(name)).exists()
        assert not (root / legacy_intermediate_path(name)).exists()
    assert plan_make(db, TARGETS).analysis.stale == []


def test_migration_leaves_other_vrts_alone(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    with RawImage.create(images / "mine.vrt", ImageSpec((2, 2), "float32"),
                         raw_path=images / "elsewhere.bin"):
        pass
    with RawImage.create(images / "taken.vrt", ImageSpec((2, 2), "float32")):
        pass
    (images / "taken.raw.vrt").write_text("already there")
    assert migrate_legacy_headers(images) == []
    assert sorted(p.name for p in images.iterdir()) == [
        "elsewhere.bin", "mine.vrt", "taken.raw", "taken.raw.vrt", "taken.vrt"]
