"""``pep run make`` and ``pep dag`` from the command line; command rules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.drs import TESTS, PEP, env, make_run, read_image, source_array
from peppers.cli.main import main

CHAIN = (TESTS / "rules" / "chain.yaml").read_text()
CONVERT = f"""
  convert:
    kind: command
    command: "{sys.executable} {TESTS / 'support' / 'drs_tools.py'} to_tiff {{inputs.src}} {{outputs.dst}}"
    inputs: {{src: final}}
    outputs: {{dst: final_tif}}
    store: product
"""


def pep(capsys, root: Path, *args: str) -> tuple[int, str, str]:
    status = main(["--run", str(root), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_dry_run_why_explains_streams_breaks_and_reasons(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    status, out, _ = pep(capsys, db.root, "run", "make", "t.stats", "--dry-run", "--why")
    assert status == 0
    assert "5 rules needed, 5 stale -> 2 stream(s), 2 break(s)" in out
    assert "stream-1  local: smooth, scale" in out
    assert "6 output tiles, 12 tile computations; estimated peak" in out
    assert "memory  smoothed" in out
    assert "writes  scaled -> images/scaled.raw.vrt (read by center)" in out
    assert "break: center  (global rule" in out and "break: stats  (reduction" in out
    assert "- [new] never run (no record drs.rules.smooth)" in out
    assert not (Path(db.root) / "images" / "scaled.raw.vrt").exists()   # a dry run writes nothing
    assert pep(capsys, db.root, "run", "make", "t.stats")[0] == 0
    db.set("t.size", [5, 5])
    status, out, _ = pep(capsys, db.root, "run", "make", "t.stats", "-n", "--why",
                         "--rerun-triggers", "input,code")
    assert "nothing to do" in out
    assert "smooth: ignored [params] parameter size (t.size) changed: [3, 3] -> [5, 5]" in out


def test_make_prints_summary_and_up_to_date(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    status, out, err = pep(capsys, db.root, "run", "make", "final", "-j", "1", "--mem", "64M")
    assert status == 0 and "make final: 3 step(s) done" in out
    assert "done   stream-1 2 rules: smooth, scale" in err
    assert pep(capsys, db.root, "run", "make", "final")[1].strip() == "make final: up to date"


def test_dag_dot_and_mermaid_mark_stale_rules_and_streams(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    status, dot, _ = pep(capsys, db.root, "dag", "t.stats")
    assert status == 0 and dot.startswith("digraph peppers {")
    assert 'subgraph "cluster_stream-1"' in dot and '"smooth";' in dot
    assert '"smooth" -> "scale" [label="smoothed", style=dashed];' in dot
    assert '"scale" -> "center" [label="scaled"];' in dot
    assert 'label="center\\nglobal RemoveMean\\nstale: new", fillcolor="#f4cccc", shape=hexagon' \
        in dot
    status, mermaid, _ = pep(capsys, db.root, "dag", "t.stats", "--format", "mermaid")
    assert mermaid.startswith("flowchart LR")
    assert 'subgraph n_stream_1["stream-1"]' in mermaid
    assert "n_smooth -.->|smoothed| n_scale" in mermaid
    assert 'n_stats{{"stats<br/>reduction ImageStats<br/>stale: new"}}:::stale' in mermaid
    pep(capsys, db.root, "run", "make", "t.stats")
    _, mermaid, _ = pep(capsys, db.root, "dag", "t.stats", "--format", "mermaid")
    assert ":::stale" not in mermaid.split("\n", 4)[4] and ":::fresh" in mermaid


def test_dag_png_needs_dot(tmp_path, capsys, monkeypatch):
    db = make_run(tmp_path, CHAIN)
    out = tmp_path / "dag.png"
    if shutil.which("dot"):
        assert pep(capsys, db.root, "dag", "final", "--format", "png", "-o", str(out))[0] == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, err = pep(capsys, db.root, "dag", "final", "--format", "png", "-o", str(out))
    assert status == 1 and "needs Graphviz's 'dot' on PATH" in err


def test_command_rule_output_is_committed_atomically(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN + CONVERT)
    assert pep(capsys, db.root, "run", "make", "final_tif")[0] == 0
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(Path(db.root) / "products" / "final_tif.tif") as tif:
            data = tif.read(1)
    np.testing.assert_array_equal(data, read_image(Path(db.root) / "images" / "final.raw.vrt"))
    assert db.get("drs.rules.convert.version").startswith("cmd-")
    assert list((Path(db.root) / "products").glob(".*")) == []


def test_failing_command_reports_and_leaves_no_output(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN + CONVERT.replace("to_tiff", "fail"))
    status, _, err = pep(capsys, db.root, "run", "make", "final_tif")
    assert status == 1
    assert "command rule convert: exit status 3: drs_tools: failing on purpose" in err
    assert "completed rules are recorded" in err
    assert list((Path(db.root) / "products").iterdir()) == []
    assert set(db.get("drs.rules")) == {"smooth", "scale", "center", "shift"}


def test_malformed_rule_file_is_one_line_error_from_pep(tmp_path):
    db = make_run(tmp_path, CHAIN.replace("    params: {size: t.size}", "    parms: {size: t.size}"))
    done = subprocess.run([*PEP, "--run", str(db.root), "run", "make", "final"], env=env(),
                          capture_output=True, text=True)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"pep: error: {Path(db.root) / 'rules' / 'test.yaml'}, line 10, "
                               "rule smooth: unknown field 'parms'")


def test_unknown_target_and_trigger(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    status, _, err = pep(capsys, db.root, "run", "make", "nothing")
    assert status == 1 and "make target 'nothing': no rule is named so or makes it" in err
    with pytest.raises(SystemExit):
        main(["--run", str(db.root), "run", "make", "final", "--rerun-triggers", "mtime"])
    assert "unknown trigger(s) ['mtime']" in capsys.readouterr().err


def test_values_match_truth_through_pep(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    assert pep(capsys, db.root, "run", "make", "other_out")[0] == 0
    np.testing.assert_allclose(read_image(Path(db.root) / "images" / "other_out.raw.vrt"),
                               source_array(8) + 1.0, atol=1e-6)
    assert sorted(os.listdir(Path(db.root) / "images")) == ["other_out.raw", "other_out.raw.vrt"]
