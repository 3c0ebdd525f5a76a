"""``pep init``: validated inputs become a run with the default parameters."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from peppers.bounds import BOUNDS
from peppers.cli.cmd_init import default_parameters
from peppers.cli.main import main
from peppers.hkv import RunDatabase
from peppers.hkv.schema import Schema
from peppers.scene import load_scene
from peppers.scene.inputs import input_path, load_run_scene, resolve_input
from support.scenes import edit_yaml, make_scene, write_test_scene


@pytest.fixture
def pair(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    master = write_test_scene(data, "master", seed=1)
    slave = write_test_scene(data, "slave", seed=2)
    return tmp_path, master, slave


def _init(capsys, run, master, slave, *extra):
    status = main(["init", str(run), "--master", str(master), "--slave", str(slave), *extra])
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(status, err, file, field):
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pep: error: ")
    assert str(Path(file).absolute()) in lines[0] and f": {field}: " in lines[0], lines[0]
    assert "Traceback" not in err


# -- malformed metadata: one line naming the file and the field, no run ---------------------------

def _write_float_image(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=24, height=40, count=1,
                           dtype="float32") as out:
            out.write(np.ones((1, 40, 24), np.float32))
    return str(path)


def _del(section, key):
    return lambda doc: doc[section].pop(key)


def _set(section, key, value):
    return lambda doc: doc[section].__setitem__(key, value)


def _few_vectors(doc):
    del doc["orbit"]["state_vectors"][7:]


def _repeat_time(doc):
    vectors = doc["orbit"]["state_vectors"]
    vectors[3]["utc"] = vectors[2]["utc"]


CASES = {
    "missing field": (_del("sensor", "wavelength_m"), "sensor.wavelength_m"),
    "bad time string": (_set("azimuth", "first_line_utc", "2026-03-01 05:12:03"),
                        "azimuth.first_line_utc"),
    "size mismatch": (_set("image", "lines", 41), "image.lines"),
    "fewer than 8 state vectors": (_few_vectors, "orbit.state_vectors"),
    "non-increasing times": (_repeat_time, "orbit.state_vectors[3].utc"),
    "unknown look_side": (_set("sensor", "look_side", "up"), "sensor.look_side"),
    "wrong format": (lambda doc: doc.__setitem__("format", "peppers-slc/3"), "format"),
    "unknown frame": (_set("orbit", "frame", "ECI"), "orbit.frame"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_metadata_is_one_line(capsys, pair, case):
    tmp, master, slave = pair
    mutate, field = CASES[case]
    edit_yaml(master, mutate)
    status, _, err = _init(capsys, tmp / "run", master, slave)
    _one_line_error(status, err, master, field)
    assert not (tmp / "run").exists()


def test_non_complex_image(capsys, pair):
    tmp, master, slave = pair
    image = _write_float_image(tmp / "float.tif")
    edit_yaml(slave, _set("image", "path", image))
    status, _, err = _init(capsys, tmp / "run", master, slave)
    _one_line_error(status, err, slave, "image.path")
    assert "not complex" in err


def test_missing_image_file(capsys, pair):
    tmp, master, slave = pair
    (master.parent / "master.slc.vrt").unlink()
    status, _, err = _init(capsys, tmp / "run", master, slave)
    _one_line_error(status, err, master, "image.path")
    assert "does not exist" in err


def test_missing_metadata_file_and_bad_yaml(capsys, pair):
    tmp, master, slave = pair
    status, _, err = _init(capsys, tmp / "run", tmp / "absent.yaml", slave)
    _one_line_error(status, err, tmp / "absent.yaml", "(file)")
    master.write_text("format: [peppers\n")
    status, _, err = _init(capsys, tmp / "run", master, slave)
    _one_line_error(status, err, master, "(yaml)")


def test_pair_must_share_look_side(capsys, tmp_path):
    master = write_test_scene(tmp_path, "master")
    slave = write_test_scene(tmp_path, "slave", scene=make_scene(look_side="left"))
    status, _, err = _init(capsys, tmp_path / "run", master, slave)
    _one_line_error(status, err, slave, "sensor.look_side")


def test_subprocess_error_has_no_traceback(pair):
    tmp, master, slave = pair
    edit_yaml(master, _few_vectors)
    result = subprocess.run(
        [sys.executable, "-m", "peppers.cli.main", "init", str(tmp / "run"),
         "--master", str(master), "--slave", str(slave)],
        capture_output=True, text=True, cwd=tmp)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{master}: orbit.state_vectors: has 7 state vectors" in result.stderr


# -- a valid init ------------------------------------------------------------------------------------

def test_valid_init_records_inputs_and_parameters(capsys, pair):
    tmp, master, slave = pair
    status, out, err = _init(capsys, tmp / "run", master, slave)
    assert status == 0, err
    assert "created run" in out and "master" in out and "40 x 24" in out

    assert main(["--run", str(tmp / "run"), "get", "inputs.master.sensor.wavelength_m"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == pytest.approx(0.05546576)
    assert main(["--run", str(tmp / "run"), "get", "inputs.slave.image.lines"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == 40

    db = RunDatabase.open(tmp / "run")
    scene = load_scene(master)
    assert db.get("inputs.master.sensor.look_side") == "right"
    assert db.get("inputs.master.azimuth.first_line_utc") == "2026-03-01T05:12:03.000000Z"
    assert db.get("inputs.master.range.sample_spacing_m") == scene.sample_spacing_m
    vectors = db.get("inputs.master.orbit.state_vectors")
    assert len(vectors) == 9 and vectors[4]["position_m"] == scene.positions_m[4].tolist()
    assert db.get("inputs.master.yaml") == "../data/master.yaml"
    assert resolve_input(db.get("inputs.master.image.path"), db.root) == scene.image_path
    files = db.get("inputs.slave.files")
    assert [Path(f["path"]).name for f in files] == ["slave.yaml", "slave.slc.vrt", "slave.slc"]
    raw = master.parent / "slave.slc"
    assert files[2]["sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert files[2]["size"] == 40 * 24 * 8
    assert load_run_scene(db, "master") == scene

    for key, spec in default_parameters().items():
        assert db.get(key, None) == spec.get("default")  # no default (ppe.mpi.launcher): absent
    assert db.get("insar.coherence.window") == [5, 5]
    log = db.audit_log()
    assert log[0].kind == "create" or any(e.argv[:2] == ["pep", "init"] for e in log)
    recorded = [e for e in log if any(c.key == "inputs.master.sensor.name" for c in e.changes)]
    assert len(recorded) == 1 and recorded[0].argv[:2] == ["pep", "init"]


def test_init_with_gcps_and_dem(capsys, pair):
    tmp, master, slave = pair
    gcps = tmp / "data" / "gcps.yaml"
    gcps.write_text("gcps:\n  - {lat: 36.51, lon: -117.02, height_m: 812.4}\n"
                    "  - {lat: 36.6, lon: -117.1, height_m: 1020.0}\n")
    dem = tmp / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=6, height=5, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, -117.2, 0, -0.01, 36.7)) as out:
        out.write(np.full((1, 5, 6), 900.0, np.float32))
    status, out, err = _init(capsys, tmp / "run", master, slave,
                             "--gcps", str(gcps), "--reference-dem", str(dem))
    assert status == 0, err
    db = RunDatabase.open(tmp / "run")
    assert db.get("inputs.gcps.points")[1] == {"lat": 36.6, "lon": -117.1, "height_m": 1020.0}
    assert db.get("inputs.reference_dem.crs") == "EPSG:4326"
    assert db.get("inputs.reference_dem.shape") == [5, 6]
    assert db.get("inputs.reference_dem.path") == "../dem.tif"
    assert db.get("drs.rule_variants") == ["reference_dem"]  # the DEM-assisted rules
    assert "2 points" in out


def test_bad_gcps_or_dem_creates_no_run(capsys, pair):
    tmp, master, slave = pair
    gcps = tmp / "gcps.yaml"
    gcps.write_text("gcps: [{lat: 95.0, lon: 0.0, height_m: 0.0}]\n")
    status, _, err = _init(capsys, tmp / "run", master, slave, "--gcps", str(gcps))
    _one_line_error(status, err, gcps, r"gcps[0].lat")
    nocrs = tmp / "nocrs.tif"
    _write_float_image(nocrs)
    status, _, err = _init(capsys, tmp / "run", master, slave, "--reference-dem", str(nocrs))
    _one_line_error(status, err, nocrs, "crs")
    assert not (tmp / "run").exists()


def test_existing_run_is_refused_and_untouched(capsys, pair):
    tmp, master, slave = pair
    assert _init(capsys, tmp / "run", master, slave)[0] == 0
    RunDatabase.open(tmp / "run").set("insar.coherence.window", [5, 25])
    status, _, err = _init(capsys, tmp / "run", master, slave)
    assert status == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert RunDatabase.open(tmp / "run").get("insar.coherence.window") == [5, 25]


def test_project_folder_moves_as_a_whole(capsys, pair):
    tmp, master, slave = pair
    assert _init(capsys, tmp / "run", master, slave)[0] == 0
    moved = tmp.parent / (tmp.name + "-moved")
    shutil.move(tmp, moved)
    db = RunDatabase.open(moved / "run")
    assert load_run_scene(db, "slave").yaml_path == moved / "data" / "slave.yaml"


def test_input_path_rule(tmp_path):
    run = tmp_path / "project" / "run"
    assert input_path(tmp_path / "project" / "data" / "m.yaml", run) == "../data/m.yaml"
    assert input_path(run / "inputs" / "m.yaml", run) == "inputs/m.yaml"
    assert input_path(tmp_path / "elsewhere" / "m.yaml", run) == str(tmp_path / "elsewhere/m.yaml")
    assert resolve_input("../data/m.yaml", run) == tmp_path / "project" / "data" / "m.yaml"


# -- the parameter set ---------------------------------------------------------------------------------

def test_parameter_set_is_declared_typed_and_documented():
    parameters = default_parameters()
    schema = Schema(parameters)  # refuses bad types, defaults of the wrong type, key clashes
    assert len(schema) == len(parameters) >= 40
    for key, spec in parameters.items():
        assert {"type", "doc"} <= set(spec) <= {"type", "default", "doc", *BOUNDS}, key
        assert key.count(".") >= 1 and len(spec["doc"]) > 20, key
    for key in ("insar.coherence.window", "insar.adaptive_filter.alpha",
                "insar.coregistration.chip_size", "insar.unwrap.method", "products.crs",
                "ppe.tile_shape", "ppe.memory", "insar.multilook.looks"):
        assert key in parameters
    assert parameters["products.crs"]["default"] == "EPSG:4326"
    assert parameters["insar.adaptive_filter.alpha"]["default"] == 0.5


def test_init_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["init", "--help"])
    assert "example:" in capsys.readouterr().out
