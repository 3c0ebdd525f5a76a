"""``pep report``: every picture it references is a valid PNG; every rule with its timing;
accuracy against GCPs equal to an independent computation.

The run: a small simulated pair, ``pep init``, ``pep run make filtered_interferogram
coherence``; then a DEM product written by the test (a tilted plane in EPSG:4326, so
bilinear sampling is exact and the expected bias and RMS follow from the GCPs alone).
"""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peppers.cli.main import main
from peppers.report.accuracy import gcp_accuracy

PLANE = {"z0": 990.0, "per_lat": 4000.0, "per_lon": -2500.0}  # metres, metres per degree


class ImageSources(HTMLParser):
    """The ``src`` of every ``<img>`` and the text of every table row."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def plane_height(lat, lon, lat0, lon0):
    return PLANE["z0"] + PLANE["per_lat"] * (lat - lat0) + PLANE["per_lon"] * (lon - lon0)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from peppers.hkv import RunDatabase
    from peppers.io.geotiff import write_geotiff
    from peppers.io.source import ArraySource

    base = tmp_path_factory.mktemp("report")
    sim, run = base / "sim", base / "run"
    assert main(["simulate", str(sim), "--lines", "256", "--samples", "192", "--quiet"]) == 0
    assert main(["init", str(run), "--master", str(sim / "master.yaml"), "--slave",
                 str(sim / "slave.yaml"), "--gcps", str(sim / "gcps.yaml"),
                 "--reference-dem", str(sim / "dem.tif")]) == 0
    assert main(["--run", str(run), "run", "make", "filtered_interferogram", "coherence"]) == 0
    points = RunDatabase.open(run).get("inputs.gcps.points")
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    lat0, lon0 = float(np.mean(lats)), float(np.mean(lons))
    step = 2e-4
    north, west = max(lats) + 10 * step, min(lons) - 10 * step
    rows = int((north - min(lats)) / step) + 20
    cols = int((max(lons) - west) / step) + 20
    r, c = np.mgrid[0:rows, 0:cols]
    lat_c, lon_c = north - (r + 0.5) * step, west + (c + 0.5) * step  # pixel centres
    dem = plane_height(lat_c, lon_c, lat0, lon0).astype(np.float32)
    dem[:3, :3] = np.nan
    write_geotiff(run / "products" / "geocoded_dem.tif", ArraySource(dem, nodata=float("nan")),
                  crs="EPSG:4326", transform=(west, step, 0.0, north, 0.0, -step), block=16)
    return run


def _check_report(html_path: Path) -> ImageSources:
    parser = ImageSources()
    parser.feed(html_path.read_text(encoding="utf-8"))
    assert parser.sources, "the report shows no pictures"
    for src in parser.sources:
        png = html_path.parent / src
        assert png.is_file(), f"{src} is referenced but missing"
        with Image.open(png) as im:
            im.verify()
        with Image.open(png) as im:
            assert im.format == "PNG" and min(im.size) > 10
    return parser


def test_report_pictures_rules_and_accuracy(run, capsys):
    from peppers.hkv import RunDatabase

    assert main(["--run", str(run), "report"]) == 0
    assert "wrote" in capsys.readouterr().out
    html_path = run / "report" / "index.html"
    parser = _check_report(html_path)
    names = {Path(s).stem for s in parser.sources}
    for image in ("images_filtered_interferogram", "images_coherence", "inputs_master_slc",
                  "products_geocoded_dem", "rule_graph"):
        assert image in names
    db = RunDatabase.open(run)
    records = db.get("drs.rules")
    assert {"coregistration", "interferogram", "adaptive_filter"} <= set(records)
    by_rule = {row[0]: row for row in parser.rows if row}
    for rule, record in records.items():
        assert by_rule[rule][4] == f"{float(record['seconds']):.2f} s"
    # accuracy: the product is a plane, so product - gcp is known exactly
    points = db.get("inputs.gcps.points")
    lat0 = float(np.mean([p["lat"] for p in points]))
    lon0 = float(np.mean([p["lon"] for p in points]))
    diff = np.array([plane_height(p["lat"], p["lon"], lat0, lon0) - p["height_m"]
                     for p in points])
    row = by_rule["products/geocoded_dem.tif"]
    assert row[1] == f"{len(points)} of {len(points)}"
    assert float(row[2]) == pytest.approx(diff.mean(), abs=0.01)
    assert float(row[4]) == pytest.approx(math.sqrt(np.mean(diff ** 2)), abs=0.01)


def test_report_without_graphviz_draws_the_graph_itself(run, tmp_path):
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["--run", str(run), "report", "-o", str(out), "--no-dot"]) == 0
    _check_report(out)
    text = out.read_text(encoding="utf-8")
    assert "drawn by peppers" in text
    assert (tmp_path / "elsewhere" / "rule_graph.png").is_file()
    # finished rules are up to date, not "stale: needed"; the Mermaid text is folded away
    assert "stale:" not in text and ":::stale" not in text and ":::fresh" in text
    assert "<details><summary>Mermaid text" in text
    with Image.open(tmp_path / "elsewhere" / "rule_graph.png") as im:
        assert im.width <= 1200 and im.height > im.width / 2      # top to bottom, readable
    assert "has not been fixed yet" in text or "same GCPs" in text


def test_gcps_outside_or_on_no_data_are_not_covered(run):
    from peppers.hkv import RunDatabase

    points = RunDatabase.open(run).get("inputs.gcps.points")
    lats = [p["lat"] for p in points]
    lons = [p["lon"] for p in points]
    step = 2e-4
    far = {"lat": 0.0, "lon": 0.0, "height_m": 0.0}
    corner = {"lat": max(lats) + 9 * step, "lon": min(lons) - 9 * step, "height_m": 0.0}
    acc = gcp_accuracy(run / "products" / "geocoded_dem.tif", [*points[:3], far, corner])
    assert acc.total == 5 and acc.covered == 3
    assert all(math.isnan(c.product) for c in acc.checks[3:])


def test_report_needs_a_run(tmp_path, capsys):
    assert main(["--run", str(tmp_path), "report"]) == 1
    assert "not a peppers run" in capsys.readouterr().err
