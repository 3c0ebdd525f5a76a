"""``pep op``: the operator registry, ``--list``/``--help``, and one operator run on files.

Truths: BoxFilter over a raster file equals the operator applied to the whole
array (``apply_local``) and scipy's mirror-mode uniform filter; multilook
equals numpy block means; WLS unwrapping of a smooth ramp gives the ramp
back up to a constant; a reduction prints the mean it computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np
import pytest
import yaml

from peppers.cli.main import main
from peppers.io.raw import RawImage, raw_path_for
from peppers.io.source import open_source
from peppers.ppe.operator import GlobalOperator, ImageSpec, Param, ReductionOperator
from peppers.ppe.region import Region


def write_raw(path: Path, array: np.ndarray, geo=None) -> Path:
    """A raw image (VRT + raw) holding ``array``."""
    image = RawImage.create(path, ImageSpec(array.shape, array.dtype, None, geo))
    image.write(Region.full(array.shape), array)
    image.flush()
    image.close()
    return path


def read(path: Path) -> np.ndarray:
    source = open_source(path)
    try:
        return source.read(Region.full(source.spec.shape))
    finally:
        source.close()


class MeanOfImage(ReductionOperator):
    """Mean and size of an image (a reduction for the tests)."""

    name: ClassVar[str] = "test_mean_of_image"
    params = (Param("scale", float, 1.0, "factor applied to the mean"),)

    def reduce(self, sources: Mapping[str, Any]) -> dict[str, Any]:
        data = sources["input"].read(Region.full(sources["input"].spec.shape))
        return {"mean": np.float64(data.mean() * self.scale), "shape": np.array(data.shape)}


class FailingGlobal(GlobalOperator):
    """Writes half of its output, then fails (for the no-half-written-output test)."""

    name: ClassVar[str] = "test_failing_global"

    def run(self, sources, sinks) -> None:
        spec = sinks["output"].spec
        sinks["output"].write(Region(0, 0, 1, spec.shape[1]), np.ones((1, spec.shape[1]), spec.dtype))
        raise RuntimeError("deliberate failure on purpose")


@pytest.fixture
def image(tmp_path, rng) -> tuple[Path, np.ndarray]:
    array = rng.normal(size=(70, 53)).astype(np.float32)
    return write_raw(tmp_path / "in.vrt", array), array


def test_list_names_every_kind(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["op", "--list"]) == 0
    lines = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()
             if not line.startswith("warning")}
    assert lines["box_filter"] == "local"
    assert lines["unwrap_wls"] == "global"
    assert lines["coregistration"] == "reduction"
    assert "multilook" in lines and "interferogram" in lines


def test_help_lists_parameters_with_type_default_and_key(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["op", "box_filter", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--size" in out and "tuple" in out and "(5, 5)" in out
    assert "moving average" in out
    with pytest.raises(SystemExit):
        main(["op", "Interferogram", "--help"])  # class names work too
    out = capsys.readouterr().out
    for flag in ("--flat-earth", "--no-flat-earth", "--reference-height-m", "--grid-spacing"):
        assert flag in out
    assert "insar.interferogram.flat_earth" in " ".join(out.split())
    assert "used by rules: interferogram" in out


def test_unknown_operator_suggests_a_name(capsys):
    assert main(["op", "box_filtr"]) == 1
    err = capsys.readouterr().err
    assert "unknown operator 'box_filtr'" in err and "box_filter" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("size", [(3, 3), (5, 2)])
def test_box_filter_on_a_file_equals_the_operator_on_the_array(image, tmp_path, size, capsys):
    from scipy.ndimage import uniform_filter

    from peppers.operators._arrays import apply_local
    from peppers.operators.filters import BoxFilter

    path, array = image
    out = tmp_path / "out.vrt"
    status = main(["op", "box_filter", "--size", str(size[0]), str(size[1]),
                   "--input", str(path), "--output", str(out), "--tile", "16", "24", "-j", "2"])
    assert status == 0
    assert f"wrote {out}" in capsys.readouterr().out
    got = read(out)
    expected = apply_local(BoxFilter(size=size), {"input": array})["output"]
    np.testing.assert_array_equal(got, expected)
    if size[0] % 2 and size[1] % 2:  # centred windows: scipy's mirror mode is the same filter
        np.testing.assert_allclose(got, uniform_filter(array.astype(np.float64), size,
                                                       mode="mirror"), atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # staging removed


def test_geotiff_in_geotiff_out_keeps_georeferencing(tmp_path, rng):
    import rasterio

    from peppers.io.geotiff import write_geotiff
    from peppers.io.source import ArraySource
    from peppers.operators._arrays import apply_local
    from peppers.operators.filters import BoxFilter

    array = rng.normal(size=(40, 48)).astype(np.float32)
    transform = (10.0, 0.01, 0.0, 50.0, 0.0, -0.01)
    source = tmp_path / "dem.tif"
    write_geotiff(source, ArraySource(array), crs="EPSG:4326", transform=transform, block=16)
    out = tmp_path / "smooth.tif"
    assert main(["op", "box_filter", "--size", "[3, 3]", "--input", f"input={source}",
                 "--output", f"output={out}", "--tile", "16"]) == 0
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 4326
        assert ds.transform.to_gdal() == pytest.approx(transform)
        smoothed = ds.read(1)
    expected = apply_local(BoxFilter(size=(3, 3)), {"input": array})["output"]
    np.testing.assert_array_equal(smoothed, expected)


def test_geotiff_output_without_georeferencing_fails_before_work(image, tmp_path, capsys):
    path, _ = image
    assert main(["op", "box_filter", "--input", str(path), "--output",
                 str(tmp_path / "x.tif")]) == 1
    assert "needs a CRS" in capsys.readouterr().err
    assert not (tmp_path / "x.tif").exists()


def test_parameters_from_the_run(image, tmp_path):
    from peppers.hkv import RunDatabase

    path, array = image
    run = tmp_path / "run"
    db = RunDatabase.create(run)
    db.set("insar.multilook.looks", [2, 3])
    expected = array[:70, :51].reshape(35, 2, 17, 3).mean(axis=(1, 3))
    for how in (["--from-run"], ["--looks", "@insar.multilook.looks"]):
        out = tmp_path / f"ml{len(how)}.vrt"
        assert main(["--run", str(run), "op", "multilook", *how, "--input", str(path),
                     "--output", str(out)]) == 0
        np.testing.assert_allclose(read(out), expected, rtol=1e-6)


def test_global_operator_unwraps_a_ramp(tmp_path):
    rows, cols = np.mgrid[0:48, 0:40]
    phase = 0.35 * rows + 0.2 * cols
    ifg = write_raw(tmp_path / "ifg.vrt", np.exp(1j * phase).astype(np.complex64))
    coh = write_raw(tmp_path / "coh.vrt", np.full(phase.shape, 0.9, np.float32))
    out = tmp_path / "unw.vrt"
    assert main(["op", "unwrap_wls", "--input", f"interferogram={ifg}",
                 "--input", f"coherence={coh}", "--output", f"unwrapped={out}"]) == 0
    unwrapped = read(out)
    offset = unwrapped - phase
    np.testing.assert_allclose(offset, offset.mean(), atol=1e-3)
    assert not (tmp_path / "_unused_components.vrt").exists()


def test_failing_global_leaves_no_output(image, tmp_path, capsys):
    path, _ = image
    out = tmp_path / "never.vrt"
    assert main(["op", "test_cli_op:FailingGlobal", "--input", str(path), "--output",
                 str(out)]) == 1
    err = capsys.readouterr().err
    assert "test_failing_global failed" in err and "deliberate failure" in err
    assert not out.exists() and not raw_path_for(out).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_reduction_prints_yaml(image, capsys):
    path, array = image
    assert main(["op", "test_cli_op:MeanOfImage", "--scale", "2", "--input", str(path)]) == 0
    values = yaml.safe_load(capsys.readouterr().out)
    assert values["shape"] == [70, 53]
    assert values["mean"] == pytest.approx(2 * float(array.astype(np.float64).mean()), rel=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--size", "3", "x"], "size must be two integers"),
    (["--size", "[3, 3"], "cannot read"),
    (["--output", "o.png"], "must be *.vrt"),
    (["--size", "@insar.x"], "not a peppers run"),
])
def test_bad_options_are_one_line_errors(image, tmp_path, capsys, argv, message):
    path, _ = image
    defaults = ["--input", str(path)] + ([] if "--output" in argv else
                                         ["--output", str(tmp_path / "o.vrt")])
    assert main(["--run", str(tmp_path), "op", "box_filter", *argv, *defaults]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_missing_input_port_is_named(tmp_path, capsys):
    out = tmp_path / "i.vrt"
    assert main(["op", "multiply", "--input", "a=x.vrt", "--output", str(out)]) == 1
    assert "missing --input for port(s) b" in capsys.readouterr().err


def test_unwrap_from_run_reads_the_runs_declared_keys(tmp_path):
    """``pep op unwrap --from-run`` takes what ``pep run make`` takes (threshold 0.3, not 0)."""
    import argparse

    from peppers.cli.cmd_init import default_parameters
    from peppers.cli.cmd_op import operator_values
    from peppers.hkv import RunDatabase
    from peppers.cli.registry import discover, lookup

    db = RunDatabase.create(tmp_path / "run", default_parameters())
    db.set("insar.unwrap.overlap", 64)
    entry = lookup(discover(tmp_path / "run"), "unwrap")
    values = operator_values(entry, argparse.Namespace(from_run=True), db)
    assert values["threshold"] == db.get("insar.unwrap.coherence_threshold") == 0.3
    assert values["min_component_size"] == db.get("insar.unwrap.min_region_size")
    assert (values["tile_size"], values["overlap"], values["nlooks"]) == (2048, 64, 0.0)
    assert entry.cls(**values).threshold == 0.3


def test_help_shows_bounds(capsys):
    with pytest.raises(SystemExit):
        main(["op", "coherence", "--help"])
    assert ">= 1, key insar.coherence.window" in " ".join(capsys.readouterr().out.split())
