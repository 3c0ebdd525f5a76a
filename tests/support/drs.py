"""Helpers of the scheduler tests: a small run with real PPE operators, test operators.

``make_run(tmp_path, rules)`` creates a run directory with one float32 run
input ``src`` (``data/src.vrt``, 300 x 200, seeded), the parameters the
rule sets read, packaged rules switched off, 128 x 128 tiles, and the given
rule file text as ``RUN/rules/test.yaml``. The operators below are imported
by module path from rule files, so the ``pep`` subprocesses of the tests get
the tests folder on ``PYTHONPATH`` (operators named ``support.drs:Name``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar, Mapping

import numpy as np

from peppers.ppe.operator import LocalOperator, Param
from peppers.ppe.region import Region

TESTS = Path(__file__).resolve().parents[1]
SHAPE = (300, 200)


def source_array(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=SHAPE).astype("float32")


def write_image(path: Path, array: np.ndarray) -> None:
    from peppers.io.raw import RawImage
    from peppers.ppe.operator import ImageSpec

    with RawImage.create(path, ImageSpec(array.shape, array.dtype), overwrite=True) as img:
        img.write(Region.full(array.shape), array)
        img.flush()


def read_image(path: Path) -> np.ndarray:
    from peppers.io.raw import RawImage

    with RawImage.open(path) as img:
        return img.read(Region.full(img.spec.shape))


def make_run(tmp_path: Path, rules: str, name: str = "run"):
    from peppers.hkv import RunDatabase

    root = tmp_path / name
    db = RunDatabase.create(root)
    (root / "data").mkdir()
    write_image(root / "data" / "src.vrt", source_array())
    write_image(root / "data" / "src2.vrt", source_array(8))
    db.set("inputs.src.path", "data/src.vrt")
    db.set("inputs.src2.path", "data/src2.vrt")
    for key, value in {"t.size": [3, 3], "t.factor": 2.0, "t.offset": 1.0,
                       "t.delay": 0.0, "drs.package_rules": False,
                       "ppe.tile_shape": [128, 128], "ppe.threads": 2}.items():
        db.set(key, value)
    (root / "rules").mkdir()
    (root / "rules" / "test.yaml").write_text(rules)
    return db


def finished(db) -> dict[str, object]:
    """Rule -> when it last finished, from the scheduler's records in HKV."""
    records = db.get("drs.rules", {})
    return {name: record.get("finished") for name, record in records.items()}


def rerun(before: dict, after: dict) -> set[str]:
    """Rules whose record changed between two :func:`finished` snapshots."""
    return {name for name, when in after.items() if before.get(name) != when}


def env() -> dict[str, str]:
    """Environment for ``pep`` subprocesses: this folder importable."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(TESTS), out.get("PYTHONPATH", "")])
    return out


PEP = [sys.executable, "-m", "peppers.cli.main"]


class AddConst(LocalOperator):
    """``input + offset``: pixel-wise, with a version the tests can bump."""

    name: ClassVar[str] = "add_const"
    version: ClassVar[str] = "1"
    params = (Param("offset", float, 0.0, "added to every pixel"),)

    def compute(self, inputs: Mapping[str, np.ndarray], output_region: Region):
        return {"output": inputs["input"] + np.float32(self.offset)}


class SlowCopy(LocalOperator):
    """Copies its input, sleeping ``delay`` seconds per tile (crash and overlap tests)."""

    name: ClassVar[str] = "slow_copy"
    params = (Param("delay", float, 0.0, "seconds of sleep per tile"),)

    def compute(self, inputs: Mapping[str, np.ndarray], output_region: Region):
        time.sleep(self.delay)
        return {"output": inputs["input"].copy()}


class GatedCopy(LocalOperator):
    """Copies its input; a tile waits until the :class:`~support.gate.Gate` file ``gate``
    is open beyond its first row (no gate: never waits). Holds a run mid-stream.

    ``mark``, if set, is a gate this operator opens fully as each tile starts:
    two streams waiting on each other's mark prove they run side by side.
    """

    name: ClassVar[str] = "gated_copy"
    params = (Param("gate", str, "", "path of the gate file (empty: no gate)"),
              Param("mark", str, "", "gate file opened as a tile starts (empty: none)"))

    def compute(self, inputs: Mapping[str, np.ndarray], output_region: Region):
        from support.gate import Gate

        if self.mark:
            Gate(self.mark).open()
        if self.gate:
            Gate(self.gate).wait(output_region.row)
        return {"output": inputs["input"].copy()}


class Explode(LocalOperator):
    """Fails on every tile (failure tests)."""

    name: ClassVar[str] = "explode"

    def compute(self, inputs: Mapping[str, np.ndarray], output_region: Region):
        raise ValueError("boom")


#: Two local rules, a slow copy then a scale: a stream slow enough to kill or watch.
SLOW_CHAIN = """\
rules:
  slow:
    kind: local
    operator: support.drs:SlowCopy
    inputs: {input: src}
    outputs: {output: copied}
    params: {delay: t.delay}
  scale:
    kind: local
    operator: peppers.ppe.testing:Scale
    inputs: {input: copied}
    outputs: {output: scaled}
    params: {factor: t.factor}
"""


#: :data:`SLOW_CHAIN` with the copy held by a gate (HKV ``t.gate``, see :func:`gated_run`).
GATED_CHAIN = SLOW_CHAIN.replace("support.drs:SlowCopy", "support.drs:GatedCopy").replace(
    "params: {delay: t.delay}", "params: {gate: t.gate}")


def gated_run(tmp_path: Path, open_rows: int, name: str = "run"):
    """A :data:`GATED_CHAIN` run of 20 tiles (64 x 64) and its gate, open to ``open_rows``."""
    from support.gate import Gate

    db = make_run(tmp_path, GATED_CHAIN, name=name)
    gate = Gate(tmp_path / f"{name}.gate").open_to(open_rows)
    db.set("t.gate", str(gate.path))
    db.set("ppe.tile_shape", [64, 64])  # 5 x 4 = 20 tiles
    return db, gate


def pep(*args: str, cwd: Path) -> str:
    """Run ``pep ARGS`` in ``cwd``; fail the test with its output if it fails."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    result = subprocess.run([sys.executable, "-m", "peppers.cli.main", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout
